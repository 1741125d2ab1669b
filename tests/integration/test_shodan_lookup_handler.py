"""shodan_lookup end to end: key in SSM (moto), the real shodan client, the local Shodan API."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from localcloud.functions import load_app
from localcloud.scenario import Profile, render_host
from localcloud.shodan_api import ShodanApiServer

KEY = "s3cr3t-shodan-key-0123456789"
PARAMETER = "/ics-honeynet/shodan-api-key"
IP = "198.51.100.23"
STARTED = datetime(2026, 11, 23, 21, 40, tzinfo=UTC)


@pytest.fixture
def app():
    return load_app("shodan_lookup")


@pytest.fixture
def shodan_api(monkeypatch, app):
    with mock_aws(), ShodanApiServer(api_key=KEY) as server:
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=PARAMETER, Type="SecureString", Value=KEY)
        monkeypatch.setenv("SHODAN_API_KEY_PARAMETER", PARAMETER)
        monkeypatch.setenv("SHODAN_API_URL", server.url)
        monkeypatch.setenv("SHODAN_TIMEOUT_SECONDS", "0.5")
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        server.timeout_hold_seconds = 2.0
        yield server


def lookup(app, lambda_context, **event):
    return app.lambda_handler(
        {"ip": IP, "taskArn": "arn:task", "startedAt": STARTED.isoformat(), **event}, lambda_context
    )


def indexed(server, **profile):
    server.set_host(IP, render_host(IP, Profile(**profile), STARTED, STARTED + timedelta(hours=3)))


def test_not_indexed_costs_exactly_one_request(app, shodan_api, lambda_context):
    out = lookup(app, lambda_context)
    assert out["found"] is False and out["verdict"] == "NOT_INDEXED" and out["evidence"] is None
    assert [r.path for r in shodan_api.requests()] == [f"/shodan/host/{IP}"]


def test_indexed_asks_the_honeyscore_too(app, shodan_api, lambda_context):
    indexed(shodan_api, kind="indexed", ports=(502, 102))
    shodan_api.set_honeyscore(IP, 0.2)
    out = lookup(app, lambda_context, evidenceKey="evidence/x.json")
    assert out["verdict"] == "INDEXED" and out["ports"] == [102, 502] and out["honeyscore"] == 0.2
    assert out["evidenceKey"] == "evidence/x.json" and out["evidence"]["ip_str"] == IP
    assert out["lastUpdate"] and out["org"] == "Amazon Technologies Inc."
    assert [r.path.split("/")[1] for r in shodan_api.requests()] == ["shodan", "labs"]
    json.dumps(out)


def test_fingerprinted_by_tag(app, shodan_api, lambda_context):
    indexed(shodan_api, kind="fingerprinted", tags=("honeypot",))
    assert lookup(app, lambda_context)["verdict"] == "FINGERPRINTED"


def test_fingerprinted_by_honeyscore(app, shodan_api, lambda_context, monkeypatch):
    monkeypatch.setenv("HONEYSCORE_THRESHOLD", "0.7")
    indexed(shodan_api, kind="indexed")
    shodan_api.set_honeyscore(IP, 0.7)
    assert lookup(app, lambda_context)["verdict"] == "FINGERPRINTED"


def test_an_unanswered_honeyscore_is_unknown_not_an_error(app, shodan_api, lambda_context):
    indexed(shodan_api, kind="indexed")
    out = lookup(app, lambda_context)
    assert out["verdict"] == "INDEXED" and out["honeyscore"] is None


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("403", "ShodanAuthError"),
        ("rate_limit", "ShodanRateLimitError"),
        ("500", "ShodanUnavailableError"),
        ("502", "ShodanUnavailableError"),
        ("503", "ShodanUnavailableError"),
        ("timeout", "ShodanUnavailableError"),
        ("garbage", "ShodanResponseError"),
        ("missing_fields", "ShodanResponseError"),
    ],
)
def test_faults_raise_typed_errors(app, shodan_api, lambda_context, fault, error):
    indexed(shodan_api, kind="indexed")
    shodan_api.set_fault(fault, ip=IP)
    with pytest.raises(Exception) as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == error
    # Never chained to the client's error: its context names the URL, which holds the key.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    assert KEY not in str(raised.value)


def test_timeout_says_so(app, shodan_api, lambda_context):
    shodan_api.set_fault("timeout", ip=IP)
    with pytest.raises(Exception, match=r"did not answer within 0\.5 s"):
        lookup(app, lambda_context)


def test_refused_connection_is_unavailable(app, shodan_api, lambda_context, monkeypatch):
    monkeypatch.setenv("SHODAN_API_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(Exception, match="could not connect to Shodan") as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "ShodanUnavailableError"


def test_wrong_key_is_an_auth_error(app, shodan_api, lambda_context):
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Type="SecureString", Value="revoked", Overwrite=True
    )
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with pytest.raises(Exception, match="Invalid API key") as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "ShodanAuthError"


def test_invalid_ip_is_rejected_before_any_request(app, shodan_api, lambda_context):
    with pytest.raises(Exception, match="not an IP address") as raised:
        lookup(app, lambda_context, ip="999.1.1.1")
    assert type(raised.value).__name__ == "InvalidInputError"
    assert shodan_api.requests() == []


def test_the_key_never_reaches_logs_or_outputs(app, shodan_api, lambda_context, capsys):
    logged = io.StringIO()
    previous = app.logger.registered_handler.setStream(logged)
    try:
        indexed(shodan_api, kind="fingerprinted", tags=("honeypot",))
        out = lookup(app, lambda_context)
        shodan_api.set_fault("500", ip=IP)
        with pytest.raises(Exception):  # noqa: B017 - any error; the point is what was logged
            lookup(app, lambda_context)
    finally:
        app.logger.registered_handler.setStream(previous)
    captured = capsys.readouterr()
    everything = "\n".join([logged.getvalue(), captured.out, captured.err])
    assert '"verdict":"FINGERPRINTED"' in everything.replace(" ", "")  # the logs are there
    assert KEY not in everything
    assert KEY not in json.dumps(out)


# -- batches: targets from S3, evidence/errors/results to S3, per-IP retries in the function -----
BUCKET = "evidence-bucket"
QUIET, FAILING = "203.0.113.7", "203.0.113.8"


@pytest.fixture
def sweep_bucket(shodan_api, monkeypatch):
    monkeypatch.setenv("RETRY_TIME_SCALE", "0")  # back off without waiting
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    targets = [{"ip": ip, "taskArn": f"arn:task/{ip}", "startedAt": STARTED.isoformat()} for ip in (QUIET, IP, FAILING)]
    s3.put_object(Bucket=BUCKET, Key="targets/sweep-1.json", Body=json.dumps({"targets": targets, "skipped": []}))
    return s3


def batch(app, lambda_context, **event):
    base = {"batch": 0, "first": 0, "size": 3, "bucket": BUCKET, "targetsKey": "targets/sweep-1.json"}
    return app.lambda_handler({**base, "execution": "sweep-1", **event}, lambda_context)


def read(s3, key):
    return json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_a_batch_checks_each_ip_retries_per_ip_and_stores_everything(app, shodan_api, sweep_bucket, lambda_context):
    indexed(shodan_api, kind="indexed", ports=(502,))
    shodan_api.set_fault("rate_limit", ip=QUIET, times=2)
    shodan_api.set_fault("500", ip=FAILING)
    summary = batch(app, lambda_context)
    assert summary == {
        "batch": 0,
        "first": 0,
        "size": 3,
        "checked": 3,
        "resultsKey": "results/sweep-1/00000.json",
        "errors": 1,
        "exposed": [{"ip": IP, "taskArn": f"arn:task/{IP}", "verdict": "INDEXED"}],
    }
    quiet, found, failed = read(sweep_bucket, summary["resultsKey"])
    assert quiet == {"ip": QUIET, "taskArn": f"arn:task/{QUIET}", "startedAt": STARTED.isoformat(),
                     "verdict": "NOT_INDEXED", "priorOwner": None}  # fmt: skip
    assert [r.status for r in shodan_api.requests(QUIET)] == [429, 429, 404]  # rate limit: backed off, retried
    assert found["verdict"] == "INDEXED" and found["evidence"]["stored"] is True
    assert read(sweep_bucket, f"evidence/{IP}/sweep-1.json")["ip_str"] == IP
    assert len(shodan_api.requests(FAILING)) == 1 + 3  # 5xx: three retries, then recorded
    assert (failed["verdict"], failed["error"], failed["errorKey"]) == (
        "ERROR", "ShodanUnavailableError", f"errors/{FAILING}/sweep-1.json")  # fmt: skip
    error = read(sweep_bucket, failed["errorKey"])
    assert error["Error"] == "ShodanUnavailableError" and "HTTP 500" in json.loads(error["Cause"])["errorMessage"]


def test_a_rejected_key_fails_the_whole_batch_by_name(app, shodan_api, sweep_bucket, lambda_context):
    shodan_api.set_fault("403")
    with pytest.raises(Exception) as raised:
        batch(app, lambda_context)
    assert type(raised.value).__name__ == "ShodanAuthError"
    assert sweep_bucket.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("KeyCount") == 0


def test_a_batch_outside_the_targets_is_a_clear_error(app, shodan_api, sweep_bucket, lambda_context):
    with pytest.raises(ValueError, match=r"batch \[2, 5\) is outside the 3 targets"):
        batch(app, lambda_context, first=2)


# -- Shodan's answers as they really come (issue 11) --------------------------------------------
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "shodan"


def corpus(name: str) -> dict:
    return json.loads((CORPUS / f"{name}.json").read_text())


@pytest.fixture
def fast(monkeypatch):
    """Retries without waiting, and a pacer that lets the test's requests through at once."""
    monkeypatch.setenv("RETRY_TIME_SCALE", "0")
    monkeypatch.setenv("SHODAN_REQUESTS_PER_SECOND", "200")


def test_a_rate_limited_honeyscore_is_retried_and_slows_the_pacer(app, shodan_api, lambda_context, fast):
    shodan_api.set_host(IP, corpus("conpot_default_ours"))
    shodan_api.set_honeyscore(IP, 1.0)
    shodan_api.set_fault("rate_limit", ip=IP, times=2, endpoint="honeyscore")
    out = lookup(app, lambda_context)
    assert (out["verdict"], out["honeyscore"], out["honeyscoreStatus"]) == ("FINGERPRINTED", 1.0, "SCORED")
    assert [(r.path.split("/")[1], r.status) for r in shodan_api.requests()] == [
        ("shodan", 200), ("labs", 429), ("labs", 429), ("labs", 200)]  # fmt: skip
    pacer = app._client(KEY)[1].pacer
    assert pacer.interval > pacer._base  # slowed after the 429s


@pytest.mark.parametrize(("fault", "tries"), [("rate_limit", 8), ("503", 4), ("timeout", 4), ("timed_out", 4)])
def test_a_honeyscore_that_stays_unavailable_is_reported_unknown(app, shodan_api, lambda_context, fast, fault, tries):
    shodan_api.timeout_hold_seconds = 0.8
    shodan_api.set_host(IP, corpus("conpot_default_ours"))
    shodan_api.set_honeyscore(IP, 1.0)
    shodan_api.set_fault(fault, ip=IP, endpoint="honeyscore")
    out = lookup(app, lambda_context)
    assert (out["verdict"], out["honeyscore"], out["honeyscoreStatus"]) == ("INDEXED", None, "UNAVAILABLE")
    assert out["honeyscoreError"].startswith(("ShodanRateLimitError", "ShodanUnavailableError"))
    deadline = time.monotonic() + 3  # a held answer is recorded once its hold ends
    while len(shodan_api.requests()) < 1 + tries and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(shodan_api.requests()) == 1 + tries


def test_a_honeyscore_shodan_cannot_give_is_no_score_not_unavailable(app, shodan_api, lambda_context, fast):
    shodan_api.set_host(IP, corpus("conpot_default_ours"))  # no honeyscore set: Shodan's error answer
    out = lookup(app, lambda_context)
    assert (out["honeyscore"], out["honeyscoreStatus"]) == (None, "NO_SCORE")
    assert len(shodan_api.requests()) == 2  # not retried: the same answer would come back


@pytest.mark.parametrize("fault", ["null_body", "empty_object"])
def test_a_200_with_an_empty_body_is_an_error_not_not_indexed(app, shodan_api, lambda_context, fault):
    shodan_api.set_fault(fault, ip=IP)
    with pytest.raises(Exception, match="empty body") as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "ShodanResponseError"


def test_a_200_saying_request_timed_out_is_unavailable(app, shodan_api, lambda_context):
    shodan_api.set_fault("timed_out", ip=IP)
    with pytest.raises(Exception, match="Request timed out") as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "ShodanUnavailableError"


def test_a_recycled_ip_with_a_dozen_https_banners_gives_a_bounded_reply(app, shodan_api, lambda_context, fast):
    shodan_api.set_host(IP, corpus("recycled_https_prior_owner"))
    out = lookup(app, lambda_context)
    assert out["verdict"] == "INDEXED" and out["priorOwner"]["banners"] == 12
    assert len(json.dumps(out)) < 16_000  # Shodan sent ~430 KB


def test_a_batch_keeps_every_verdict_stores_full_documents_and_names_keys_by_normalised_ip(
    app, shodan_api, lambda_context, fast
):
    ip6 = "2001:db8:4006:812::200e"
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    targets = [
        {"ip": f" {IP} ", "taskArn": "arn:task/a", "startedAt": STARTED.isoformat()},
        {"ip": "2001:DB8:4006:0812:0:0:0:200E", "taskArn": "arn:task/b", "startedAt": STARTED.isoformat()},
        {"ip": QUIET, "taskArn": "arn:task/c", "startedAt": STARTED.isoformat()},
    ]
    s3.put_object(Bucket=BUCKET, Key="targets/sweep-1.json", Body=json.dumps({"targets": targets, "skipped": []}))
    shodan_api.set_host(IP, corpus("recycled_https_prior_owner"))
    shodan_api.set_host(ip6, corpus("malformed_banner"))  # port "502/tcp": ignored, not fatal
    shodan_api.set_host(QUIET, corpus("history_several_banners_per_port"))
    summary = batch(app, lambda_context)
    assert summary["errors"] == 0
    assert [(e["ip"], e["verdict"]) for e in summary["exposed"]] == [
        (IP, "INDEXED"), (ip6, "INDEXED"), (QUIET, "INDEXED")]  # fmt: skip
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="evidence/")["Contents"]}
    assert keys == {f"evidence/{IP}/sweep-1.json", f"evidence/{ip6}/sweep-1.json", f"evidence/{QUIET}/sweep-1.json"}
    assert read(s3, f"evidence/{IP}/sweep-1.json") == corpus("recycled_https_prior_owner")  # the full document
    results = read(s3, summary["resultsKey"])
    assert [r["ports"] for r in results] == [[502], [102], [102, 502]]
    assert all("html" not in json.dumps(r) for r in results)


def test_one_ip_whose_lookup_breaks_unexpectedly_costs_no_other_ip_its_verdict(
    app, shodan_api, sweep_bucket, lambda_context, fast, monkeypatch
):
    shodan_api.set_host(IP, corpus("conpot_default_ours"))
    real = app.assess

    def broken_for_quiet(target, *args, **kwargs):
        if target.ip == QUIET:
            raise TypeError("int() argument must be a string, a bytes-like object or a real number, not 'dict'")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(app, "assess", broken_for_quiet)
    summary = batch(app, lambda_context)
    quiet, found, failing = read(sweep_bucket, summary["resultsKey"])
    assert (quiet["verdict"], quiet["error"]) == ("ERROR", "TypeError")
    assert found["verdict"] == "INDEXED" and failing["verdict"] == "NOT_INDEXED"
