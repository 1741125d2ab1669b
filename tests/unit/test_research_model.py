"""Conpot records parsed as Conpot writes them; bad lines refused with the reason; tenures
validated; crawler names recognised; the cached resolver's timeout."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ics_honeynet.research.model import BadEventLine, ConpotEvent, Milestone, Tenure
from ics_honeynet.research.timeline import CachedResolver, scanner_operator, timeline

# A record shaped as conpot/core/loggers/json_log.py writes it: naive UTC isoformat, null type.
CONPOT_LINE = json.dumps(
    {
        "timestamp": "2026-03-02T10:15:30.123456",
        "sensorid": "default",
        "id": "5f0e8d4c-8f0a-4a57-9a43-3d2c2b1a0f11",
        "src_ip": "203.0.113.7",
        "src_port": 51234,
        "dst_ip": "10.0.1.20",
        "dst_port": 502,
        "public_ip": "198.51.100.10",
        "data_type": "modbus",
        "request": "000100000006010300000001",
        "response": None,
        "event_type": None,
    }
)


def test_a_conpot_record_parses_with_its_naive_time_as_utc():
    event = ConpotEvent.from_json_line(CONPOT_LINE)
    assert event.timestamp == datetime(2026, 3, 2, 10, 15, 30, 123456, tzinfo=UTC)
    assert (event.src_ip, event.public_ip, event.dst_ip, event.data_type) == (
        "203.0.113.7",
        "198.51.100.10",
        "10.0.1.20",
        "modbus",
    )
    assert event.event_type is None and event.request == "000100000006010300000001"
    assert ConpotEvent.from_json_line(event.to_json_line()) == event


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"timestamp": "yesterday"}, "'timestamp' is not an ISO 8601 time"),
        ({"timestamp": None}, "missing 'timestamp'"),
        ({"src_ip": "999.1.1.1"}, "'src_ip' is not an IP address"),
        ({"public_ip": "not-an-ip"}, "'public_ip' is not an IP address"),
        ({"id": None}, "missing 'id'"),
        ({"data_type": 7}, "'data_type' is not a string"),
        ({"dst_port": 70000}, "'dst_port' is not a port number"),
        ({"src_port": True}, "'src_port' is not a port number"),
    ],
)
def test_a_bad_field_is_refused_with_its_reason(change, reason):
    record = {**json.loads(CONPOT_LINE), **change}
    with pytest.raises(BadEventLine, match=reason):
        ConpotEvent.from_json_line(json.dumps(record))


@pytest.mark.parametrize(
    ("line", "reason"), [("not json", "not JSON"), ("[1, 2]", "not a JSON object"), (b"\xff\xfe", "not JSON")]
)
def test_a_line_that_is_not_a_record_is_refused(line, reason):
    with pytest.raises(BadEventLine, match=reason):
        ConpotEvent.from_json_line(line)


def test_a_payload_that_is_not_text_is_kept_as_its_json():
    record = {**json.loads(CONPOT_LINE), "request": {"function": 3}}
    assert ConpotEvent.from_json_line(json.dumps(record)).request == '{"function": 3}'


def test_tenure_from_stored_strings_and_its_checks():
    tenure = Tenure.of("198.51.100.10", "arn:aws:ecs:us-east-1:1:task/c/abcdef0123456789", "2026-03-02T00:00:00Z",
                       first_indexed="2026-03-02T06:00:00+00:00")  # fmt: skip
    assert tenure.started == datetime(2026, 3, 2, tzinfo=UTC) and tenure.first_indexed is not None
    assert tenure.label == "198.51.100.10 (abcdef01)"
    assert tenure.end(datetime(2026, 3, 3, tzinfo=UTC)) == datetime(2026, 3, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        Tenure("198.51.100.10", "t", datetime(2026, 3, 2))
    with pytest.raises(ValueError, match=r"rotated .* is before started"):
        Tenure.of("198.51.100.10", "t", "2026-03-02T00:00:00Z", rotated="2026-03-01T00:00:00Z")
    with pytest.raises(ValueError, match="first_fingerprinted is before first_indexed"):
        Tenure.of("198.51.100.10", "t", "2026-03-02T00:00:00Z", first_indexed="2026-03-03T00:00:00Z",
                  first_fingerprinted="2026-03-02T12:00:00Z")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "operator"),
    [
        ("census7.shodan.io", "Shodan"),
        ("dojo.census.shodan.io.", "Shodan"),
        ("SKY.CENSUS.SHODAN.IO", "Shodan"),
        ("scanner-05.ch1.censys-scanner.com", "Censys"),
        ("prod-beryllium-us-east-59.li.binaryedge.ninja", "BinaryEdge"),
        ("evilshodan.io", None),
        ("shodan.io.example.com", None),
        ("ec2-18-229-73-207.sa-east-1.compute.amazonaws.com", None),
        (None, None),
    ],
)
def test_crawlers_are_recognised_by_their_ptr_domain(name, operator):
    assert scanner_operator(name) == operator


def test_the_resolver_is_cached_times_out_and_gives_up():
    calls: list[str] = []
    release = threading.Event()

    def slow(ip: str) -> str | None:
        calls.append(ip)
        if ip.startswith("192.0.2."):
            release.wait(5)
        return "census1.shodan.io" if ip == "71.6.1.1" else None

    resolver = CachedResolver(slow, timeout=0.05, give_up_after=2)
    assert resolver("71.6.1.1") == "census1.shodan.io"
    assert resolver("71.6.1.1") == "census1.shodan.io" and calls == ["71.6.1.1"]  # cached
    assert resolver("192.0.2.1") is None and resolver("192.0.2.2") is None  # two timeouts in a row
    assert resolver("203.0.113.9") is None and "203.0.113.9" not in calls  # given up: not asked
    release.set()
    assert (resolver.stats.lookups, resolver.stats.timeouts, resolver.stats.names, resolver.stats.gave_up) == (
        3,
        2,
        1,
        True,
    )


def test_a_failing_resolver_is_no_name_not_a_crash():
    def broken(ip: str) -> str | None:
        raise RuntimeError("resolver exploded")

    assert CachedResolver(broken)("203.0.113.1") is None


def test_the_timeline_orders_milestones_and_finds_the_first_crawler():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    tenure = Tenure("198.51.100.10", "task/abc", start, rotated=start + timedelta(hours=50),
                    first_indexed=start + timedelta(hours=30))  # fmt: skip
    first_seen = {
        "203.0.113.5": start + timedelta(hours=1),
        "71.6.1.1": start + timedelta(hours=28),  # Shodan
        "71.6.1.2": start + timedelta(hours=29),  # Shodan too, later
    }
    names = {"71.6.1.1": "census3.shodan.io", "71.6.1.2": "census4.shodan.io"}
    marks = timeline(tenure, first_seen, names.get, until=start + timedelta(hours=40))
    assert [m.milestone for m in marks] == [
        Milestone.STARTED,
        Milestone.FIRST_CONTACT,
        Milestone.FIRST_SCANNER_CONTACT,
        Milestone.FIRST_INDEXED,
    ]  # rotated after until: not yet
    assert marks[2].at == start + timedelta(hours=28) and "census3.shodan.io (71.6.1.1)" in (marks[2].detail or "")
