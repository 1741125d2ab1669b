"""shodan_lookup end to end: key in SSM (moto), the real shodan client, the local Shodan API."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

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
