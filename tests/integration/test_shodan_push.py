"""Shodan Monitor's push through the local cloud: a request to the stack's function URL
(``ShodanWebhookUrl``), served by the real handler as Lambda serves it, starts (or refuses to
start) a sweep of the notified IP with the real state machine."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud

KEY = "local-shodan-key"  # the default scenario's key (stored in SSM by the local cloud)
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def sign(body: bytes, key: str = KEY) -> str:
    """Shodan's side, written independently of the handler: hex HMAC-SHA1 of the body."""
    return hmac.new(key.encode(), body, hashlib.sha1).hexdigest()


def notification(ip: str, port: int = 102, minutes_ago: float = 2) -> bytes:
    seen = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return json.dumps(
        {
            "ip_str": ip,
            "port": port,
            "transport": "tcp",
            "timestamp": seen.replace(tzinfo=None).isoformat(),
            "data": "Siemens S7 PLC",
            "_shodan": {"module": "s7", "alert": {"id": "LOCALALERT", "name": "honeynet", "trigger": "new_service"}},
        }
    ).encode()


def flip_last(signature: str) -> str:
    """The signature with its last hex digit changed (never to itself)."""
    return signature[:-1] + ("1" if signature[-1] == "0" else "0")


def headers(body: bytes, signature: str | None = None) -> dict[str, str]:
    out = {"SHODAN-ALERT-ID": "LOCALALERT", "SHODAN-ALERT-TRIGGER": "new_service", "User-Agent": "Shodan"}
    out["SHODAN-SIGNATURE-SHA1"] = signature if signature is not None else sign(body)
    return out


# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


@pytest.fixture(scope="module")
def cloud():
    """The default scenario after its first sweep, which put the Shodan alert on its three IPs."""
    with LocalCloud() as running:
        running.wait_for_running(3)
        first, _report = running.sweep()
        assert first.status == "SUCCEEDED"
        yield running


def indexed_ip(cloud: LocalCloud) -> str:
    return next(t.ip for t in cloud.scheduler.running_tasks() if t.slot == 1 and t.running)


def test_a_signed_notification_starts_one_sweep_that_checks_just_that_ip(cloud):
    ip = indexed_ip(cloud)
    before = cloud.snapshot()
    started, asked_before = len(cloud.executions()), len(cloud.shodan.requests())
    body = notification(ip)
    answer = cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), body, headers(body))
    assert answer.status == 202, answer.body
    reply = answer.json()
    assert reply["outcome"] == "SWEEP_STARTED" and reply["execution"].startswith("push-")
    run = cloud.wait_for_execution(reply["execution"])
    report = cloud.report(run, before)
    assert run.status == "SUCCEEDED" and run.input == {"targetIp": ip}
    assert len(cloud.executions()) == started + 1
    assert report.checked == [{"ip": ip, "verdict": "INDEXED"}]
    assert cloud.evidence(f"sweeps/{run.name}.json")["shodanAlert"]["status"] == "UNCHANGED"
    assert {r.ip for r in cloud.shodan.requests()[asked_before:]} == {ip}  # the alert unchanged: no request
    # The first sweep found this IP indexed already: not news, no email (a finding is emailed once).
    assert report.emails == []


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        ("unsigned", 401, "UNSIGNED"),
        ("badly signed", 403, "BAD_SIGNATURE"),
        ("signed with another key", 403, "BAD_SIGNATURE"),
        ("oversized", 413, "TOO_LARGE"),
        ("not ours", 202, "NOT_OURS"),
        ("stale", 202, "STALE"),
    ],
)
def test_unsigned_badly_signed_oversized_foreign_and_stale_notifications_start_nothing(cloud, case, status, outcome):
    ip = indexed_ip(cloud)
    body = {
        "oversized": notification(ip)[:-1] + b', "pad": "' + b"x" * (1024 * 1024) + b'"}',
        "not ours": notification("203.0.113.250"),
        "stale": notification(ip, minutes_ago=8 * 24 * 60),
    }.get(case, notification(ip, port=44818))
    sent = {
        "unsigned": {k: v for k, v in headers(body).items() if k != "SHODAN-SIGNATURE-SHA1"},
        "badly signed": headers(body, signature=flip_last(sign(body))),
        "signed with another key": headers(body, signature=sign(body, key="not-the-key")),
    }.get(case, headers(body))
    started = len(cloud.executions())
    answer = cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), body, sent)
    assert (answer.status, answer.json()["outcome"]) == (status, outcome)
    assert len(cloud.executions()) == started


def test_a_replayed_notification_starts_nothing(cloud):
    ip = next(t.ip for t in cloud.scheduler.running_tasks() if t.slot == 0 and t.running)
    body = notification(ip, port=80)
    url = cloud.stack.output("ShodanWebhookUrl")
    first = cloud.post_to_function_url(url, body, headers(body))
    assert first.status == 202
    cloud.wait_for_execution(first.json()["execution"])
    started = len(cloud.executions())
    replay = cloud.post_to_function_url(url, body, headers(body))
    assert (replay.status, replay.json()["outcome"]) == (200, "REPLAYED")
    assert len(cloud.executions()) == started


def test_get_and_a_url_without_public_access_are_refused(cloud):
    url = cloud.stack.output("ShodanWebhookUrl")
    answer = cloud.function_urls.request(url, "GET", {}, b"")
    assert (answer.status, answer.json()["outcome"]) == (405, "METHOD_NOT_ALLOWED")
    assert cloud.function_urls.request("https://nobody.lambda-url.us-east-1.on.aws/", "POST", {}, b"").status == 404


# -- the alert the sweeps keep (SyncShodanAlert) ------------------------------------------------------
def test_the_sweep_keeps_one_alert_on_exactly_the_honeynets_ips_with_the_webhook_notifier(cloud):
    ips = sorted(t.ip for t in cloud.scheduler.running_tasks() if t.running)
    [alert] = cloud.shodan.alerts()
    assert sorted(alert["filters"]["ip"]) == ips and alert["expires"] == 0
    assert set(alert["triggers"]) == {"new_service", "industrial_control_system"}
    [notifier] = cloud.shodan.notifiers()
    assert alert["notifiers"] == [notifier["id"]]
    assert (notifier["provider"], notifier["args"]["url"]) == ("webhook", cloud.stack.output("ShodanWebhookUrl"))
    asked = len(cloud.shodan.requests())
    run, _report = cloud.sweep()
    record = cloud.evidence(f"sweeps/{run.name}.json")["shodanAlert"]
    assert (record["status"], record["alertId"], record["monitored"]) == ("UNCHANGED", alert["id"], 3)
    assert [r.path for r in cloud.shodan.requests()[asked:] if "/alert" in r.path or "notifier" in r.path] == []


def test_no_key_signature_or_body_reaches_the_functions_logs(cloud):
    ip = indexed_ip(cloud)
    body = notification(ip, port=161)
    secret_marker = b"secret-banner-text-7f3a"
    body = body[:-1] + b', "data": "' + secret_marker + b'"}'
    signature = sign(body)
    cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), body, headers(body, signature))
    cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), body, headers(body, flip_last(signature)))
    logged = "\n".join(cloud.function_log_lines())
    assert "shodan notification" in logged  # the webhook did log its outcomes
    for secret in (KEY, signature, flip_last(signature), secret_marker.decode()):
        assert secret not in logged
