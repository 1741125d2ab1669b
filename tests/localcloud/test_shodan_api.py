"""The local Shodan API, through the real `shodan` client (SHODAN_API_URL)."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
import shodan

from localcloud.scenario import Profile, render_host
from localcloud.shodan_api import NO_SCAN_CREDITS, NOT_FOUND, RATE_LIMITED, ShodanApiServer

KEY = "test-key"
IP = "198.51.100.7"
STARTED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch):
    with ShodanApiServer(api_key=KEY) as srv:
        monkeypatch.setenv("SHODAN_API_URL", srv.url)
        srv.timeout_hold_seconds = 1.0
        yield srv


def client(key: str = KEY) -> shodan.Shodan:
    api = shodan.Shodan(key)
    api.api_rate_limit = 0  # the tests pace themselves
    return api


def test_unknown_ip_is_shodans_404(server):
    with pytest.raises(shodan.APIError) as raised:
        client().host(IP)
    assert raised.value.value == NOT_FOUND == "No information available for that IP."
    assert [r.status for r in server.requests(IP)] == [404]


def test_host_document_has_shodans_shape(server):
    server.set_host(
        IP, render_host(IP, Profile(kind="fingerprinted", tags=("honeypot",)), STARTED, STARTED + timedelta(days=1))
    )
    host = client().host(IP)
    assert host["ip_str"] == IP and isinstance(host["ip"], int)
    assert host["ports"] == [21, 80, 102, 161, 502, 44818, 47808]
    assert "honeypot" in host["tags"]
    banner = host["data"][0]
    assert {"port", "transport", "timestamp", "data", "_shodan"} <= set(banner)
    assert {b["_shodan"]["module"] for b in host["data"]} == {
        "ftp",
        "http",
        "s7",
        "snmp",
        "modbus",
        "ethernetip",
        "bacnet",
    }
    assert "88111222" in next(b["data"] for b in host["data"] if b["port"] == 102)
    datetime.strptime(banner["timestamp"], "%Y-%m-%dT%H:%M:%S.%f")  # no time zone, like Shodan
    assert "data" not in client().host(IP, minify=True)


def test_wrong_key_is_401(server):
    with pytest.raises(shodan.APIError, match="Invalid API key"):
        client("wrong").host(IP)
    assert server.requests()[0].status == 401
    assert all("wrong" not in r.path for r in server.requests())


def test_honeyscore(server):
    server.set_honeyscore(IP, 0.8)
    assert client().labs.honeyscore(IP) == 0.8
    with pytest.raises(shodan.APIError):
        client().labs.honeyscore("198.51.100.8")


def test_rate_limit_is_enforced_per_key_with_shodans_message(server):
    server.rate_limit_per_s = 1.0
    server.set_host(IP, render_host(IP, Profile(kind="indexed"), STARTED, STARTED))
    api = client()
    api.host(IP)
    with pytest.raises(shodan.APIError) as raised:
        api.host(IP)
    assert raised.value.value == RATE_LIMITED
    assert raised.value.value.startswith("Request rate limit reached (1 request/ second)")
    time.sleep(1.05)
    assert api.host(IP)["ip_str"] == IP
    assert [r.status for r in server.requests(IP)] == [200, 429, 200]


def test_the_real_client_paces_itself_to_one_request_per_second(server):
    server.rate_limit_per_s = 1.0
    api = shodan.Shodan(KEY)  # api_rate_limit = 1, as shipped
    for _ in range(3):
        with pytest.raises(shodan.APIError, match="No information"):
            api.host(IP)
    times = [r.at for r in server.requests(IP)]
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("403", "Access denied (403 Forbidden)"),
        ("500", "Internal server error"),
        ("502", "Bad Gateway (502)"),
        ("garbage", "Unable to parse JSON response"),
        ("rate_limit", RATE_LIMITED),
    ],
)
def test_faults(server, fault, message):
    server.set_fault(fault, ip=IP)
    with pytest.raises(shodan.APIError) as raised:
        client().host(IP)
    assert raised.value.value == message


def test_missing_fields_fault_answers_200_without_the_host_fields(server):
    server.set_host(IP, render_host(IP, Profile(kind="indexed"), STARTED, STARTED))
    server.set_fault("missing_fields", ip=IP)
    assert "ip_str" not in client().host(IP)


def test_a_counted_fault_heals(server):
    server.set_host(IP, render_host(IP, Profile(kind="indexed"), STARTED, STARTED))
    server.set_fault("503", times=2)
    api = client()
    for _ in range(2):
        with pytest.raises(shodan.APIError):
            api.host(IP)
    assert api.host(IP)["ip_str"] == IP


def test_timeout_fault_holds_the_answer(server):
    server.set_fault("timeout", ip=IP, times=1)
    api = client()
    started = time.monotonic()
    with pytest.raises(shodan.APIError, match="No information"):
        api.host(IP)
    assert time.monotonic() - started >= 1.0


def test_unknown_fault_is_refused(server):
    with pytest.raises(ValueError, match="unknown fault"):
        server.set_fault("flaky")


def _stamps(host: dict) -> dict[int, str]:
    return {banner["port"]: banner["timestamp"] for banner in host["data"]}


def test_a_fresh_tasks_banners_are_never_before_its_start():
    # Shodan saw the task right away: every banner at its start (none before), in Shodan's format.
    host = render_host(IP, Profile(kind="indexed", ports=(80, 102, 502)), STARTED, STARTED)
    assert _stamps(host) == {80: "2026-11-24T10:00:00.000000", 102: "2026-11-24T10:00:00.000000",
                             502: "2026-11-24T10:00:00.000000"}  # fmt: skip
    # Two hours in: 7 minutes apart, the earliest still at or after the start.
    later = render_host(IP, Profile(kind="fingerprinted", ports=(80, 102)), STARTED, STARTED + timedelta(hours=3))
    assert _stamps(later) == {80: "2026-11-24T12:00:00.000000", 102: "2026-11-24T11:53:00.000000"}
    assert later["last_update"] == "2026-11-24T12:00:00.000000"


def test_only_a_stale_profile_dates_banners_before_the_task():
    host = render_host(IP, Profile(kind="stale", ports=(80, 102), banner_age_hours=-72), STARTED, STARTED)
    assert _stamps(host) == {80: "2026-11-21T10:00:00.000000", 102: "2026-11-21T09:53:00.000000"}


# -- POST /shodan/scan (experiment mode) -------------------------------------------------------
def test_a_scan_costs_one_credit_per_ip_and_answers_shodans_receipt(server):
    api = client()
    credits = api.info()["scan_credits"]
    receipt = api.scan(IP)
    assert set(receipt) == {"id", "count", "credits_left"}
    assert isinstance(receipt["id"], str) and len(receipt["id"]) == 16
    assert (receipt["count"], receipt["credits_left"]) == (1, credits - 1)
    # A netblock costs its size; the account's credits say what is left.
    assert api.scan("198.51.100.8/30")["credits_left"] == credits - 5
    assert api.info()["scan_credits"] == credits - 5
    assert [s.ip for s in server.scans()] == [IP, "198.51.100.8", "198.51.100.9", "198.51.100.10", "198.51.100.11"]
    # The client POSTs a form with the key in it: never in what is recorded.
    assert [(r.path, r.ip, r.status) for r in server.requests() if r.path == "/shodan/scan"] == [
        ("/shodan/scan", IP, 200),
        ("/shodan/scan", "198.51.100.8/30", 200),
    ]
    assert all(KEY not in repr(r) for r in server.requests())


def test_a_scan_with_a_wrong_key_is_401_and_costs_nothing(server):
    credits = server.scan_credits
    with pytest.raises(shodan.APIError, match="Invalid API key"):
        client("wrong").scan(IP)
    assert server.scan_credits == credits and server.scans() == []


def test_out_of_scan_credits_is_shodans_error_and_scans_nothing(server):
    server.scan_credits = 1
    with pytest.raises(shodan.APIError) as raised:
        client().scan("198.51.100.8/31")  # two IPs, one credit
    assert raised.value.value == NO_SCAN_CREDITS
    assert raised.value.value.startswith("Insufficient scan credits")
    assert server.requests()[-1].status == 401 and server.scans() == [] and server.scan_credits == 1
    assert client().scan(IP)["credits_left"] == 0


def test_scans_share_the_keys_rate_limit(server):
    server.rate_limit_per_s = 1.0
    api = client()
    api.scan(IP)
    with pytest.raises(shodan.APIError) as raised:
        api.scan(IP)
    assert raised.value.value == RATE_LIMITED and len(server.scans()) == 1


def test_a_fault_can_be_limited_to_the_scan_endpoint(server):
    server.set_fault("500", endpoint="scan", times=1)
    with pytest.raises(shodan.APIError, match="Internal server error"):
        client().scan(IP)
    assert server.scans() == []
    with pytest.raises(shodan.APIError, match="No information"):
        client().host(IP)  # the host lookup is not faulted
    assert client().scan(IP)["count"] == 1


def test_a_scanned_ip_lands_in_the_index_after_the_delay_with_banners_of_the_scan(server):
    server.scan_delay_s = 0.3
    before = datetime.now(UTC).replace(tzinfo=None)
    client().scan(IP)
    with pytest.raises(shodan.APIError, match="No information"):
        client().host(IP)  # not yet
    time.sleep(0.35)
    host = client().host(IP)
    stamps = [datetime.strptime(b["timestamp"], "%Y-%m-%dT%H:%M:%S.%f") for b in host["data"]]
    assert host["ip_str"] == IP and stamps and all(stamp >= before.replace(microsecond=0) for stamp in stamps)
    assert {s.at.replace(tzinfo=None).isoformat(timespec="microseconds") for s in server.scans()} == {
        stamp.isoformat(timespec="microseconds") for stamp in stamps
    }


# -- Shodan InternetDB (its own listener; the same index, weekly) ----------------------------------
def internetdb_get(server, ip):
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{server.internetdb_url}/{ip}", timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_internetdb_answers_its_404_until_its_refresh_reaches_what_shodan_indexed(server):
    server.set_host(IP, render_host(IP, Profile(kind="fingerprinted", tags=("honeypot",), ports=(502, 102)),
                                    STARTED, STARTED))  # fmt: skip
    assert internetdb_get(server, IP) == (404, {"detail": "No information available"})
    server.publish_to_internetdb(IP, delay_s=0.3)
    assert internetdb_get(server, IP)[0] == 404  # not yet: weekly data
    time.sleep(0.6)
    status, document = internetdb_get(server, IP)
    expected = {"cpes": [], "hostnames": [], "ip": IP, "ports": [102, 502], "tags": ["honeypot", "ics"], "vulns": []}
    assert (status, document) == (200, expected)
    # What it had stays until the next refresh, whatever the index holds meanwhile.
    server.set_host(IP, None)
    assert internetdb_get(server, IP)[0] == 200
    server.publish_to_internetdb(IP)
    assert internetdb_get(server, IP)[0] == 404
    assert [r.status for r in server.internetdb_requests(IP)] == [404, 404, 200, 200, 404]
    assert server.requests() == []  # InternetDB's requests are its own, not the key's


def test_internetdb_faults_are_its_own(server):
    server.set_internetdb_fault("503", ip=IP, times=1)
    assert internetdb_get(server, IP)[0] == 503
    assert internetdb_get(server, IP)[0] == 404
    with pytest.raises(ValueError, match="unknown InternetDB fault"):
        server.set_internetdb_fault("403")
