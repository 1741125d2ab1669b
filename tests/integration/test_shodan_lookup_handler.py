"""shodan_lookup end to end: key in SSM and the pace table (moto), the real shodan client, the local
Shodan API (the client routed to it from outside, as the local cloud does)."""

from __future__ import annotations

import io
import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ics_honeynet import exposure
from ics_honeynet.experiment import ExperimentOffError
from ics_honeynet.exposure import (
    InvalidInputError,
    ShodanAuthError,
    ShodanCreditsError,
    ShodanResponseError,
    ShodanUnavailableError,
)
from ics_honeynet.pacing import PacerUnavailableError
from localcloud.functions import load_app, load_container
from localcloud.handler_patches import ScaledClock, routing_shodan_to
from localcloud.scenario import Profile, render_host
from localcloud.shodan_api import ShodanApiServer

KEY = "s3cr3t-shodan-key-0123456789"
PARAMETER = "/ics-honeynet/shodan-api-key"
IP = "198.51.100.23"
STARTED = datetime(2026, 11, 23, 21, 40, tzinfo=UTC)


@pytest.fixture
def client_module():
    """Container 0's Shodan client wrapper, made cold: a new client and pacer for each test, none
    left behind (the client would keep this test's Shodan endpoint for the next test's)."""
    module = load_container("shodan_lookup").module("shodan_client")
    module._cached = None
    module._pacer.cache_clear()
    yield module
    module._cached = None
    module._pacer.cache_clear()


@pytest.fixture
def app(client_module):
    return load_app("shodan_lookup")


@pytest.fixture
def endpoint():
    return {"url": ""}


@pytest.fixture
def shodan_api(monkeypatch, app, endpoint):
    with mock_aws(), ShodanApiServer(api_key=KEY) as server:
        endpoint["url"] = server.url
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=PARAMETER, Type="SecureString", Value=KEY)
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="pace",
            AttributeDefinitions=[{"AttributeName": "pacer", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pacer", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("SHODAN_API_KEY_PARAMETER", PARAMETER)
        monkeypatch.setenv("SHODAN_PACE_TABLE", "pace")
        # Short enough for the timeout tests, long enough for a loaded machine's local Shodan to answer.
        monkeypatch.setenv("SHODAN_TIMEOUT_SECONDS", "2")
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()
        server.timeout_hold_seconds = 4.0
        with routing_shodan_to(lambda: endpoint["url"]):
            yield server


def lookup(app, lambda_context, **event):
    return app.lambda_handler(
        {"ip": IP, "taskArn": "arn:task", "startedAt": STARTED.isoformat(), **event}, lambda_context
    )


def indexed(server, **profile):
    server.set_host(IP, render_host(IP, Profile(**profile), STARTED, STARTED + timedelta(hours=3)))


def test_not_indexed_costs_exactly_one_request(app, shodan_api, lambda_context):
    out = lookup(app, lambda_context)
    assert out["found"] is False and out["verdict"] == "NOT_INDEXED" and out["host"] is None
    assert [r.path for r in shodan_api.requests()] == [f"/shodan/host/{IP}"]


def test_indexed_asks_the_honeyscore_too(app, shodan_api, lambda_context):
    indexed(shodan_api, kind="indexed", ports=(502, 102))
    shodan_api.set_honeyscore(IP, 0.2)
    out = lookup(app, lambda_context)
    assert out["verdict"] == "INDEXED" and out["ports"] == [102, 502] and out["honeyscore"] == 0.2
    assert list(out)[:2] == ["ip", "verdict"] and out["host"]["ip_str"] == IP
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
    with pytest.raises(exposure.ShodanLookupError) as raised:  # container 0: the package as imported here
        lookup(app, lambda_context)
    assert type(raised.value) is getattr(exposure, error)
    # Never chained to the client's error: its context names the URL, which holds the key.
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None or raised.value.__suppress_context__
    assert KEY not in str(raised.value)


def test_timeout_says_so(app, shodan_api, lambda_context):
    shodan_api.set_fault("timeout", ip=IP)
    with pytest.raises(ShodanUnavailableError, match=r"^Shodan did not answer within 2 s"):
        lookup(app, lambda_context)


def test_refused_connection_is_unavailable(app, shodan_api, lambda_context, endpoint, unused_port):
    endpoint["url"] = f"http://127.0.0.1:{unused_port}"  # bound, never listening: refused
    with pytest.raises(ShodanUnavailableError, match="could not connect to Shodan"):
        lookup(app, lambda_context)


def test_wrong_key_is_an_auth_error(app, shodan_api, lambda_context):
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=PARAMETER, Type="SecureString", Value="revoked", Overwrite=True
    )
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    with pytest.raises(ShodanAuthError, match="Invalid API key"):
        lookup(app, lambda_context)


def test_invalid_ip_is_rejected_before_any_request(app, shodan_api, lambda_context):
    with pytest.raises(InvalidInputError, match="not an IP address"):
        lookup(app, lambda_context, ip="999.1.1.1")
    assert shodan_api.requests() == []


def test_the_key_never_reaches_logs_or_outputs(app, shodan_api, lambda_context, capsys):
    logged = io.StringIO()
    # The stream swapped without setStream's flush of the old one (a test runner may have closed it).
    handler = app.logger.registered_handler
    previous, handler.stream = handler.stream, logged
    try:
        indexed(shodan_api, kind="fingerprinted", tags=("honeypot",))
        out = lookup(app, lambda_context)
        shodan_api.set_fault("500", ip=IP)
        with pytest.raises(ShodanUnavailableError):  # the point is what was logged
            lookup(app, lambda_context)
    finally:
        handler.stream = previous
    captured = capsys.readouterr()
    everything = "\n".join([logged.getvalue(), captured.out, captured.err])
    assert '"verdict":"FINGERPRINTED"' in everything.replace(" ", "")  # the logs are there
    assert KEY not in everything
    assert KEY not in json.dumps(out)


# -- the shared pace ------------------------------------------------------------------------------
def test_two_cold_containers_share_the_pace_in_the_table(shodan_api, lambda_context, monkeypatch):
    monkeypatch.setenv("SHODAN_REQUESTS_PER_SECOND", "5")  # slots 206 ms apart, start to start
    first, second = load_app("shodan_lookup", container=901), load_app("shodan_lookup", container=902)
    started = time.time()
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"):
        (first if ip.endswith(("1", "3")) else second).lambda_handler({"ip": ip}, lambda_context)
    starts = [r.at for r in shodan_api.requests()]
    # Each container alone would have sent its first request at once; the shared slots keep all
    # four apart (less the local jitter between reserving a slot and the request's arrival).
    assert all(later - earlier >= 0.206 - 0.02 for earlier, later in itertools.pairwise(starts)), starts
    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName="pace", Key={"pacer": {"S": PARAMETER}}
    )["Item"]  # named by the key's parameter: the key itself is never stored
    assert set(item) == {"pacer", "nextSlot"}
    # Four slots reserved one interval apart, the first a little after the test started (the cold
    # container's key read and the idle pacer's lead come before it).
    assert started + 4 * 0.206 <= float(item["nextSlot"]["N"]) <= started + 4 * 0.206 + 0.5


# -- Shodan's answers as they really come (issue 11) --------------------------------------------
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "shodan"


def corpus(name: str) -> dict:
    return json.loads((CORPUS / f"{name}.json").read_text())


@pytest.fixture
def fast(monkeypatch, client_module):
    """The function's clock a million times faster (as the local cloud scales it, from outside):
    retries without waiting, a pace that lets the test's requests through at once."""
    monkeypatch.setattr(client_module, "time", ScaledClock(1e-6))


def test_a_rate_limited_honeyscore_is_retried_and_slows_the_pacer(app, client_module, shodan_api, lambda_context, fast):
    shodan_api.set_host(IP, corpus("conpot_default_ours"))
    shodan_api.set_honeyscore(IP, 1.0)
    shodan_api.set_fault("rate_limit", ip=IP, times=2, endpoint="honeyscore")
    out = lookup(app, lambda_context)
    assert (out["verdict"], out["honeyscore"], out["honeyscoreStatus"]) == ("FINGERPRINTED", 1.0, "SCORED")
    assert [(r.path.split("/")[1], r.status) for r in shodan_api.requests()] == [
        ("shodan", 200), ("labs", 429), ("labs", 429), ("labs", 200)]  # fmt: skip
    pacer = client_module.client().pacer
    assert pacer.interval > pacer._base  # slowed after the 429s


@pytest.mark.parametrize(("fault", "tries"), [("rate_limit", 8), ("503", 4), ("timeout", 4), ("timed_out", 4)])
def test_a_honeyscore_that_stays_unavailable_is_reported_unknown(app, shodan_api, lambda_context, fast, fault, tries):
    shodan_api.timeout_hold_seconds = 2.5
    shodan_api.set_host(IP, corpus("conpot_default_ours"))
    shodan_api.set_honeyscore(IP, 1.0)
    shodan_api.set_fault(fault, ip=IP, endpoint="honeyscore")
    out = lookup(app, lambda_context)
    assert (out["verdict"], out["honeyscore"], out["honeyscoreStatus"]) == ("INDEXED", None, "UNAVAILABLE")
    assert out["honeyscoreError"].startswith(("ShodanRateLimitError", "ShodanUnavailableError"))
    deadline = time.monotonic() + 5  # a held answer is recorded once its hold ends
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
    with pytest.raises(ShodanResponseError, match="empty body"):
        lookup(app, lambda_context)


def test_a_200_saying_request_timed_out_is_unavailable(app, shodan_api, lambda_context):
    shodan_api.set_fault("timed_out", ip=IP)
    with pytest.raises(ShodanUnavailableError, match="Request timed out"):
        lookup(app, lambda_context)


def test_a_recycled_ip_with_a_dozen_https_banners_gives_a_bounded_reply(app, shodan_api, lambda_context, fast):
    shodan_api.set_host(IP, corpus("recycled_https_prior_owner"))
    out = lookup(app, lambda_context)
    assert out["verdict"] == "INDEXED" and out["priorOwner"]["banners"] == 12
    assert len(json.dumps(out)) < 16_000  # Shodan sent ~430 KB


@pytest.mark.parametrize(
    ("given", "checked"), [(f" {IP} ", IP), ("2001:DB8:4006:0812:0:0:0:200E", "2001:db8:4006:812::200e")]
)
def test_the_check_names_its_ip_normalised(app, shodan_api, lambda_context, fast, given, checked):
    # The state machine files the evidence under evidence/<the check's ip>/: one name per IP.
    shodan_api.set_host(checked, corpus("malformed_banner"))  # port "502/tcp": ignored, not fatal
    out = lookup(app, lambda_context, ip=given)
    assert (out["ip"], out["verdict"]) == (checked, "INDEXED")
    assert "html" not in json.dumps(out)


def test_an_unexpected_failure_is_raised_by_its_name_for_the_state_machine_to_record(
    app, shodan_api, lambda_context, fast, monkeypatch
):
    shodan_api.set_host(IP, corpus("conpot_default_ours"))

    def broken(*args, **kwargs):
        raise TypeError("int() argument must be a string, a bytes-like object or a real number, not 'dict'")

    monkeypatch.setattr(app, "assess", broken)
    with pytest.raises(TypeError, match="int\\(\\) argument"):
        lookup(app, lambda_context)


# -- RequestShodanScan: the same client and pace, POST /shodan/scan (experiment mode) ------------
@pytest.fixture
def scan_app(client_module, monkeypatch):
    monkeypatch.setenv("EXPERIMENT_MODE", "on")
    return load_app("request_shodan_scan")


def test_a_scan_request_answers_shodans_receipt_and_costs_one_credit(scan_app, shodan_api, lambda_context):
    credits = shodan_api.scan_credits
    out = scan_app.lambda_handler({"ip": f" {IP} ", "taskArn": "arn:task"}, lambda_context)
    [scan] = shodan_api.scans()
    assert out == {"ip": IP, "scanId": scan.scan_id, "count": 1, "creditsLeft": credits - 1}
    assert [(r.path, r.ip) for r in shodan_api.requests()] == [("/shodan/scan", IP)]
    # The request took a slot of the key's shared pace, like every lookup.
    pace = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="pace")["Items"]
    assert [item["pacer"]["S"] for item in pace] == [PARAMETER]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("rate_limit", "ShodanRateLimitError"),
        ("500", "ShodanUnavailableError"),
        ("timeout", "ShodanUnavailableError"),
        ("garbage", "ShodanResponseError"),
        ("empty_object", "ShodanResponseError"),  # no receipt: it may or may not be queued
        ("403", "ShodanAuthError"),
    ],
)
def test_a_failed_scan_request_is_raised_by_its_name(scan_app, shodan_api, lambda_context, fault, error):
    shodan_api.set_fault(fault, ip=IP, endpoint="scan")
    with pytest.raises(exposure.ShodanLookupError) as raised:
        scan_app.lambda_handler({"ip": IP}, lambda_context)
    assert type(raised.value) is getattr(exposure, error)
    assert KEY not in str(raised.value)


def test_out_of_scan_credits_is_its_own_error_not_a_rejected_key(scan_app, shodan_api, lambda_context):
    shodan_api.scan_credits = 0
    with pytest.raises(ShodanCreditsError) as raised:
        scan_app.lambda_handler({"ip": IP}, lambda_context)
    assert str(raised.value).startswith("Insufficient scan credits") and shodan_api.scans() == []


def test_with_experiment_mode_off_the_function_refuses_to_scan(scan_app, shodan_api, lambda_context, monkeypatch):
    monkeypatch.setenv("EXPERIMENT_MODE", "off")
    with pytest.raises(ExperimentOffError):
        scan_app.lambda_handler({"ip": IP}, lambda_context)
    assert shodan_api.requests() == []


def test_a_pace_table_that_does_not_answer_is_raised_by_its_name_not_as_shodan_down(app, shodan_api, lambda_context):
    """The shodan client turns any error of a request into "Unable to connect to Shodan"; a slot
    that could not be reserved sent nothing, and the state machine retries it by its own name."""
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName="pace")
    with pytest.raises(PacerUnavailableError) as raised:
        lookup(app, lambda_context)
    assert "ResourceNotFoundException" in str(raised.value) and shodan_api.requests() == []
