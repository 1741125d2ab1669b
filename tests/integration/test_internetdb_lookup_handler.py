"""internetdb_lookup end to end: the pace table (moto), the real client over HTTP, the local
InternetDB (requests to https://internetdb.shodan.io routed to it from outside, as the local cloud
does)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from localcloud.functions import load_app, load_container
from localcloud.handler_patches import ScaledClock, routing_internetdb_to
from localcloud.scenario import Profile, render_host
from localcloud.shodan_api import ShodanApiServer

IP = "198.51.100.23"
STARTED = datetime(2026, 11, 23, 21, 40, tzinfo=UTC)


@pytest.fixture
def client_module():
    """Container 0's InternetDB client, made cold for each test (a new client and pacer)."""
    module = load_container("internetdb_lookup").module("internetdb_client")
    module.client.cache_clear()
    yield module
    module.client.cache_clear()


@pytest.fixture
def app(client_module):
    return load_app("internetdb_lookup")


@pytest.fixture
def endpoint():
    return {"url": ""}


@pytest.fixture
def internetdb(monkeypatch, app, endpoint):
    with mock_aws(), ShodanApiServer(api_key="unused") as server:
        endpoint["url"] = server.internetdb_url
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName="pace",
            AttributeDefinitions=[{"AttributeName": "pacer", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pacer", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("SHODAN_PACE_TABLE", "pace")
        monkeypatch.setenv("INTERNETDB_TIMEOUT_SECONDS", "0.5")
        monkeypatch.delenv("SHODAN_API_KEY_PARAMETER", raising=False)  # it needs no key, and has none
        server.timeout_hold_seconds = 2.0
        with routing_internetdb_to(lambda: endpoint["url"]):
            yield server


def lookup(app, lambda_context, **event):
    return app.lambda_handler(
        {"ip": IP, "taskArn": "arn:task", "startedAt": STARTED.isoformat(), **event}, lambda_context
    )


def in_index(server, ip=IP, **profile):
    """Shodan indexes ``ip`` and InternetDB's refresh reaches it at once."""
    server.set_host(ip, render_host(ip, Profile(**profile), STARTED, STARTED + timedelta(hours=3)))
    server.publish_to_internetdb(ip)


def test_its_404_is_not_indexed_in_one_request(app, internetdb, lambda_context):
    out = lookup(app, lambda_context)
    assert (out["ip"], out["verdict"], out["found"], out["engine"]) == (IP, "NOT_INDEXED", False, "internetdb")
    assert out["internetDb"] == {"verdict": "NOT_INDEXED", "ports": [], "tags": []}
    assert [(r.path, r.status) for r in internetdb.internetdb_requests()] == [(f"/{IP}", 404)]
    assert internetdb.requests() == []  # Shodan's API is not asked


def test_what_shodan_indexed_appears_only_once_internetdbs_refresh_reaches_it(app, internetdb, lambda_context):
    internetdb.set_host(IP, render_host(IP, Profile(kind="indexed", ports=(102, 502)), STARTED, STARTED))
    assert lookup(app, lambda_context)["verdict"] == "NOT_INDEXED"  # weekly data: not yet
    internetdb.publish_to_internetdb(IP)
    out = lookup(app, lambda_context)
    assert (out["verdict"], out["ports"], out["tags"]) == ("INDEXED", [102, 502], ["ics"])
    assert out["host"]["source"] == "internetdb" and out["priorOwner"] is None


def test_a_honeypot_tag_is_fingerprinted(app, internetdb, lambda_context):
    in_index(internetdb, kind="fingerprinted", tags=("honeypot",))
    out = lookup(app, lambda_context)
    assert out["verdict"] == "FINGERPRINTED" and "honeypot" in out["tags"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("rate_limit", "InternetDbRateLimitError"),
        ("500", "InternetDbUnavailableError"),
        ("502", "InternetDbUnavailableError"),
        ("503", "InternetDbUnavailableError"),
        ("timeout", "InternetDbUnavailableError"),
        ("garbage", "InternetDbResponseError"),
        ("missing_fields", "InternetDbResponseError"),
        ("wrong_ip", "InternetDbResponseError"),
    ],
)
def test_faults_raise_typed_errors(app, internetdb, lambda_context, fault, error):
    in_index(internetdb, kind="indexed")
    internetdb.set_internetdb_fault(fault, ip=IP)
    with pytest.raises(Exception) as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == error
    assert raised.value.__cause__ is None


def test_a_429_widens_this_containers_pace(app, client_module, internetdb, lambda_context):
    internetdb.set_internetdb_fault("rate_limit", ip=IP, times=1)
    with pytest.raises(Exception, match="429"):
        lookup(app, lambda_context)
    pacer = client_module.client().pacer
    assert pacer.interval > pacer._base
    assert lookup(app, lambda_context)["verdict"] == "NOT_INDEXED"  # the state machine's retry


def test_timeout_and_refused_connection_say_so(app, internetdb, lambda_context, endpoint):
    internetdb.set_internetdb_fault("timeout", ip=IP)
    with pytest.raises(Exception, match=r"did not answer within 0\.5 s"):
        lookup(app, lambda_context)
    endpoint["url"] = "http://127.0.0.1:9"  # discard port: nothing listens
    with pytest.raises(Exception, match="could not connect to InternetDB") as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "InternetDbUnavailableError"


def test_invalid_ip_is_rejected_before_any_request(app, internetdb, lambda_context):
    with pytest.raises(Exception, match="not an IP address") as raised:
        lookup(app, lambda_context, ip="999.1.1.1")
    assert type(raised.value).__name__ == "InvalidInputError"
    assert internetdb.internetdb_requests() == []


def test_the_client_asks_internetdb_over_tls_and_follows_no_redirect(client_module):
    # Production's URL (the local cloud reroutes it from outside; nothing inside knows).
    assert client_module.INTERNETDB_URL == "https://internetdb.shodan.io"
    session = client_module.requests.Session()
    assert session.verify is True


def test_two_cold_containers_share_internetdbs_pace_apart_from_the_keys(internetdb, lambda_context, monkeypatch):
    monkeypatch.setenv("INTERNETDB_REQUESTS_PER_SECOND", "5")  # slots 206 ms apart, start to start
    first, second = load_app("internetdb_lookup", container=911), load_app("internetdb_lookup", container=912)
    for index, ip in enumerate(("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4")):
        (first if index % 2 == 0 else second).lambda_handler({"ip": ip}, lambda_context)
    starts = [r.at for r in internetdb.internetdb_requests()]
    assert len(starts) == 4
    assert all(later - earlier >= 0.206 - 0.02 for earlier, later in itertools.pairwise(starts)), starts
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="pace")["Items"]
    assert [item["pacer"]["S"] for item in items] == ["internetdb.shodan.io"]  # its own item: never the key's


def test_a_pace_table_that_does_not_answer_is_raised_by_its_name(app, internetdb, lambda_context):
    boto3.client("dynamodb", region_name="us-east-1").delete_table(TableName="pace")
    with pytest.raises(Exception) as raised:
        lookup(app, lambda_context)
    assert type(raised.value).__name__ == "PacerUnavailableError"
    assert internetdb.internetdb_requests() == []


def test_the_functions_clock_is_the_one_the_local_cloud_scales(client_module, internetdb, monkeypatch):
    # The pace sleeps through the module's ``time`` (the local cloud's ScaledClock replaces it).
    assert client_module.time is time
    monkeypatch.setattr(client_module, "time", ScaledClock(1e-6))
    assert client_module.client().pacer._sleep.__self__ is client_module.time
