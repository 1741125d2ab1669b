"""Attribution and hourly counting: every attributable event is counted once, in its tenure and
hour; nothing else is counted; every line ends up somewhere in the input summary."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.research.attribution import Attributor, Unattributed
from ics_honeynet.research.model import ConpotEvent, Tenure
from ics_honeynet.research.report import run_report
from ics_honeynet.research.stats import HourlyCounter, floor_hour

START = datetime(2026, 3, 2, tzinfo=UTC)
UNTIL = START + timedelta(hours=48)
IPS = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]


@st.composite
def tenures(draw: st.DrawFn) -> list[Tenure]:
    """Up to three tenures per IP, one after the other (AWS recycles IPs), some still running."""
    found = []
    for number, ip in enumerate(IPS):
        moment = START + timedelta(minutes=draw(st.integers(-600, 600)))
        for turn in range(draw(st.integers(0, 3))):
            length = timedelta(minutes=draw(st.integers(1, 1800)))
            running = draw(st.booleans())
            found.append(Tenure(ip, f"task/{number}-{turn}", moment, None if running else moment + length,
                                private_ip=f"10.0.{number}.{turn}"))  # fmt: skip
            if running:
                break
            moment += length + timedelta(minutes=draw(st.integers(0, 300)))
    return found


def event(
    at: datetime, public_ip: str | None, dst_ip: str | None = None, session: str = "s", src: str = "203.0.113.9"
) -> ConpotEvent:
    return ConpotEvent(at, session, src, "modbus", public_ip=public_ip, dst_ip=dst_ip)


events = st.lists(
    st.builds(
        event,
        st.integers(-900, 49 * 60).map(lambda m: START + timedelta(minutes=m, seconds=7)),
        st.sampled_from([*IPS, "192.0.2.1", None]),
        st.sampled_from([None, "10.0.0.0", "10.0.1.0", "10.9.9.9"]),
        st.text("abc", min_size=1, max_size=2),
        st.sampled_from(["203.0.113.1", "203.0.113.2"]),
    ),
    max_size=60,
)


def brute_force(tenure_list: list[Tenure], e: ConpotEvent) -> Tenure | None:
    """The definition, applied the slow way."""
    if not START <= e.timestamp < UNTIL:
        return None
    for ip, attribute in ((e.public_ip, "honeypot_ip"), (e.dst_ip, "private_ip")):
        holders = [
            t for t in tenure_list if ip and getattr(t, attribute) == ip and t.started <= e.timestamp < t.end(UNTIL)
        ]
        if holders:
            [holder] = holders
            return holder
    return None


@settings(max_examples=150, deadline=None)
@given(tenures(), events)
def test_every_attributable_event_is_counted_exactly_once(tenure_list, event_list):
    attributor = Attributor(tenure_list, since=START, until=UNTIL)
    counter = HourlyCounter()
    expected: Counter[tuple[Tenure, datetime]] = Counter()
    for e in event_list:
        found = attributor.attribute(e)
        assert (found if isinstance(found, Tenure) else None) == brute_force(tenure_list, e)
        if isinstance(found, Tenure):
            counter.add(found, e)
            expected[(found, floor_hour(e.timestamp))] += 1
    counted: Counter[tuple[Tenure, datetime]] = Counter()
    for tenure in tenure_list:
        series = counter.series(tenure, since=START, until=UNTIL)
        assert all(0 < h.exposure <= 1 for h in series)
        # The hours watched inside [START, UNTIL): none for a tenure wholly outside it (one that
        # started at or after UNTIL included).
        watched = max(timedelta(0), tenure.end(UNTIL) - max(tenure.started, START)) / timedelta(hours=1)
        assert abs(sum(h.exposure for h in series) - watched) < 1e-6
        for hour in series:
            if hour.events:
                counted[(tenure, hour.hour)] += hour.events
    assert counted == expected  # conserved: each in its tenure and hour, none lost, none twice


@settings(max_examples=100, deadline=None)
@given(tenures(), events, st.lists(st.sampled_from(["", "garbage", "{}", "[]"]), max_size=5))
def test_every_line_is_accounted_for(tenure_list, event_list, junk):
    lines = [e.to_json_line() for e in event_list] + junk
    report = run_report(lines, tenure_list, since=START, until=UNTIL, resolver=lambda ip: None)
    summary = report.input
    assert summary.lines == len(lines)
    assert summary.parsed + summary.bad + summary.blank == summary.lines
    assert summary.attributed + sum(summary.unattributed.values()) == summary.parsed
    assert summary.bad == sum(1 for j in junk if j)
    assert sum(hour.events for h in report.honeypots for hour in h.series) == summary.attributed


def test_a_recycled_ip_goes_to_the_tenure_holding_it_then():
    first = Tenure("198.51.100.1", "task/one", START, rotated=START + timedelta(hours=5))
    second = Tenure("198.51.100.1", "task/two", START + timedelta(hours=8))
    attributor = Attributor([first, second], since=START, until=UNTIL)
    assert attributor.attribute(event(START + timedelta(hours=4), "198.51.100.1")) is first
    assert attributor.attribute(event(START + timedelta(hours=6), "198.51.100.1")) is Unattributed.OUTSIDE_TENURE
    assert attributor.attribute(event(START + timedelta(hours=9), "198.51.100.1")) is second
    assert attributor.attribute(event(START + timedelta(hours=9), "192.0.2.4")) is Unattributed.UNKNOWN_IP
    assert attributor.attribute(event(UNTIL, "198.51.100.1")) is Unattributed.OUTSIDE_WINDOW


def test_without_a_public_ip_the_private_ip_attributes():
    tenure = Tenure("198.51.100.1", "task/one", START, private_ip="10.0.1.20")
    attributor = Attributor([tenure], since=START, until=UNTIL)
    assert attributor.attribute(event(START + timedelta(hours=1), None, "10.0.1.20")) is tenure
    assert attributor.attribute(event(START + timedelta(hours=1), None, "10.0.1.99")) is Unattributed.UNKNOWN_IP


def test_overlapping_tenures_of_one_ip_are_refused():
    with pytest.raises(ValueError, match=r"tenures overlap on 198\.51\.100\.1"):
        Attributor(
            [Tenure("198.51.100.1", "task/one", START), Tenure("198.51.100.1", "task/two", START + timedelta(hours=1))],
            since=START,
            until=UNTIL,
        )


def test_a_session_counts_once_and_sources_are_distinct():
    tenure = Tenure("198.51.100.1", "task/one", START)
    counter = HourlyCounter()
    at = START + timedelta(minutes=10)
    for session, src in (("a", "203.0.113.1"), ("a", "203.0.113.1"), ("b", "203.0.113.1"), ("c", "203.0.113.2")):
        counter.add(tenure, event(at, "198.51.100.1", session=session, src=src))
    [hour, *rest] = counter.series(tenure, since=START, until=START + timedelta(hours=3))
    assert (hour.events, hour.sessions, hour.sources, dict(hour.protocols)) == (4, 3, 2, {"modbus": 3})
    assert [(h.events, h.exposure) for h in rest] == [(0, 1.0), (0, 1.0)]  # quiet hours are zeros


def test_a_tenure_starting_after_the_report_ends_has_no_hours():
    # Found by the property test above: a tenure that started a minute after UNTIL.
    late = Tenure("198.51.100.3", "task/late", UNTIL + timedelta(minutes=1))
    assert HourlyCounter().series(late, since=START, until=UNTIL) == []
