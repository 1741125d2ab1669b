"""Synthetic Conpot traffic with a known answer, for the tests and the local cloud's report.

Honeypots hold IPs for tenures; each tenure receives sessions at its own base rate times a
calendar factor shared by all honeypots (a daily cycle and a per-day "campaign" level: what the
controls are for), times an hourly gamma draw (bursts: counts overdispersed like real attack
traffic), times the injected effect after its first indexed (and first fingerprinted). A few
hours before indexing, Shodan's crawler visits (PTR ``census<N>.shodan.io`` in the scenario's
resolver). Sessions become Conpot-shaped records: NEW_CONNECTION, requests, CONNECTION_LOST (an
HTTP session: request/response records only), all stamped with the session's start as Conpot
does. Seeded: one seed, one scenario. Stdlib only.
"""

from __future__ import annotations

import ipaddress
import math
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ics_honeynet.research.files import write_lines
from ics_honeynet.research.model import ConpotEvent, Tenure

# (data_type, port) as a default Conpot template serves them, with a rough share of sessions.
PROTOCOLS: Sequence[tuple[str, int, float]] = (
    ("s7comm", 102, 0.25),
    ("modbus", 502, 0.25),
    ("http", 80, 0.3),
    ("snmp", 161, 0.1),
    ("bacnet", 47808, 0.05),
    ("enip", 44818, 0.05),
)


@dataclass(frozen=True)
class Plan:
    """One tenure in a scenario; times are hours from the scenario's start."""

    started: float
    ended: float | None = None  # rotated at; None: still running at the end
    indexed: float | None = None
    fingerprinted: float | None = None
    rate: float = 8.0  # sessions per hour before any milestone, at calendar factor 1


@dataclass(frozen=True)
class Spec:
    plans: Sequence[Plan]
    hours: int = 144
    effect_indexed: float = 3.0
    effect_fingerprinted: float = 1.0  # on top of the indexed effect
    burst_shape: float = 4.0  # gamma shape of the hourly multiplier: smaller is burstier
    daily_amplitude: float = 0.4  # the daily cycle's swing around 1
    campaign_sd: float = 0.3  # log-sd of each day's shared level
    scanner_lead_hours: float = 3.0  # Shodan's crawler visits up to this long before indexing
    records_per_session: int = 3  # at most; 1 keeps big scenarios fast
    bad_lines: int = 0
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)


def default_spec(**changes: object) -> Spec:
    """Six tenures over six days: four indexed at different times (one also fingerprinted, one
    rotated to a fresh IP that is not indexed again), two never indexed (controls)."""
    plans = (
        Plan(0, indexed=30),
        Plan(0, indexed=52, fingerprinted=100),
        Plan(6, ended=110, indexed=70),
        Plan(110),  # the rotated honeypot's new IP
        Plan(0, indexed=90, rate=5),
        Plan(0, rate=10),
        Plan(12, rate=6),
    )
    values: dict[str, object] = {"plans": plans, **changes}
    return Spec(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Scenario:
    spec: Spec
    tenures: Sequence[Tenure]
    events: Sequence[ConpotEvent]
    bad_lines: Sequence[str]
    ptr_names: Mapping[str, str] = field(default_factory=dict)
    until: datetime = field(default=datetime(1970, 1, 1, tzinfo=UTC))

    @property
    def since(self) -> datetime:
        return self.spec.start

    def resolver(self, ip: str) -> str | None:
        """The scenario's reverse DNS (crawlers have names; attackers mostly do not)."""
        return self.ptr_names.get(ip)

    def write_event_files(self, root: Path | str) -> list[Path]:
        """The events as the research bucket holds them (files.py's layout): one gzip'd
        JSON-lines file per day; the bad lines go into the first day's file."""
        by_day: dict[date, list[str]] = {}
        for event in self.events:
            by_day.setdefault(event.timestamp.date(), []).append(event.to_json_line())
        days = sorted(by_day) or [self.since.date()]
        by_day.setdefault(days[0], []).extend(self.bad_lines)
        return [write_lines(root, by_day[day], day) for day in days]

    def lines(self) -> Iterator[str]:
        """Conpot's JSON lines, bad ones interleaved, in time order (as a day's files hold them)."""
        bad = iter(self.bad_lines)
        every = max(1, len(self.events) // (len(self.bad_lines) + 1))
        for index, event in enumerate(self.events):
            if index % every == every - 1:
                line = next(bad, None)
                if line is not None:
                    yield line
            yield event.to_json_line()
        yield from bad


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (the stdlib has none): Knuth's product method on chunks of the mean."""
    count = 0
    while mean > 0:
        chunk = min(mean, 30.0)
        mean -= chunk
        limit, product = math.exp(-chunk), rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
    return count


def _ip(rng: random.Random) -> str:
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global:
            return str(address)


def returning_attackers(rng: random.Random, count: int = 200) -> list[str]:
    """The sources that come back (the rest of the traffic is one-off sources)."""
    return [_ip(rng) for _ in range(count)]


def calendar(spec: Spec, campaign: Sequence[float], hour: int) -> float:
    """What every honeypot shares in hour ``hour`` of the scenario: the daily cycle times the
    day's campaign level (``campaign``: one level per day)."""
    return (1 + spec.daily_amplitude * math.sin(2 * math.pi * hour / 24)) * campaign[hour // 24]


def hour_sessions(
    rng: random.Random, *, start: datetime, lo: float, hi: float, rate: float, spec: Spec, attackers: Sequence[str]
) -> list[tuple[datetime, str]]:
    """Sessions (time, source) in hours [lo, hi) from ``start``: ``rate`` per hour times a gamma
    burst of the hour (mean 1, shape ``spec.burst_shape``); 70% from returning ``attackers``."""
    burst = rng.gammavariate(spec.burst_shape, 1 / spec.burst_shape)
    sessions = []
    for _ in range(poisson(rng, rate * burst * (hi - lo))):
        source = rng.choice(attackers) if rng.random() < 0.7 else _ip(rng)
        sessions.append((start + timedelta(hours=rng.uniform(lo, hi)), source))
    return sessions


def shodan_crawler(rng: random.Random) -> tuple[str, str]:
    """One of Shodan's crawlers: its address and its PTR name (``census<N>.shodan.io``)."""
    crawler = f"71.6.{rng.randrange(128, 200)}.{rng.randrange(1, 255)}"
    return crawler, f"census{rng.randrange(1, 13)}.shodan.io"


def session_events(
    rng: random.Random, moment: datetime, source: str, public: str, private: str | None, records_per_session: int
) -> list[ConpotEvent]:
    """One Conpot session's records: NEW_CONNECTION, requests, CONNECTION_LOST (HTTP: requests
    only), every record stamped with the session's start as Conpot does."""
    protocols, weights = [(name, port) for name, port, _ in PROTOCOLS], [share for *_, share in PROTOCOLS]
    name, port = rng.choices(protocols, weights)[0]
    session = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    records = rng.randint(1, records_per_session)
    kinds: list[str | None] = [None] * records  # HTTP logs requests only
    if name != "http":
        kinds = ["NEW_CONNECTION", *[None] * (records - 2), "CONNECTION_LOST"][:records]
    events = []
    for kind in kinds:
        request = None if kind else f"{name} request {rng.getrandbits(32):08x}"
        events.append(
            ConpotEvent(
                moment, session, source, name, rng.randrange(1024, 65536), private, port, public, kind,
                "conpot-sensor", request, None if request is None else "ok",
            )
        )  # fmt: skip
    return events


def generate(spec: Spec, seed: int) -> Scenario:
    """The scenario ``spec`` with random draws from ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test traffic, not secrets
    start = spec.start
    until = start + timedelta(hours=spec.hours)
    days = math.ceil(spec.hours / 24) + 1
    campaign = [math.exp(rng.gauss(0, spec.campaign_sd)) for _ in range(days)]
    attackers = returning_attackers(rng)
    ptr_names: dict[str, str] = {}
    tenures: list[Tenure] = []
    events: list[ConpotEvent] = []

    def at(hours: float | None) -> datetime | None:
        return None if hours is None else start + timedelta(hours=hours)

    for number, plan in enumerate(spec.plans):
        public, private = f"198.51.100.{10 + number}", f"10.0.{number}.{20 + number}"
        task = f"arn:aws:ecs:us-east-1:123456789012:task/honeynet/{uuid.UUID(int=rng.getrandbits(128)).hex}"
        started = start + timedelta(hours=plan.started)
        tenure = Tenure(public, task, started, at(plan.ended), at(plan.indexed), at(plan.fingerprinted), private)
        tenures.append(tenure)
        sessions: list[tuple[datetime, str]] = []
        end = plan.ended if plan.ended is not None else spec.hours
        hour = math.floor(plan.started)
        while hour < end:
            lo, hi = max(hour, plan.started), min(hour + 1, end)
            effect = 1.0
            if plan.indexed is not None and hour >= plan.indexed:
                effect *= spec.effect_indexed
            if plan.fingerprinted is not None and hour >= plan.fingerprinted:
                effect *= spec.effect_fingerprinted
            rate = plan.rate * calendar(spec, campaign, hour) * effect
            sessions.extend(hour_sessions(rng, start=start, lo=lo, hi=hi, rate=rate, spec=spec, attackers=attackers))
            hour += 1
        if plan.indexed is not None:  # Shodan's crawler looks the honeypot over before listing it
            crawler, ptr_name = shodan_crawler(rng)
            ptr_names[crawler] = ptr_name
            visit = max(plan.started, plan.indexed - rng.uniform(0.5, spec.scanner_lead_hours))
            sessions.append((start + timedelta(hours=visit), crawler))
        for moment, source in sessions:
            events.extend(session_events(rng, moment, source, public, private, spec.records_per_session))
    events.sort(key=lambda e: e.timestamp)
    bad = [
        "not json at all",
        '{"timestamp": "yesterday", "id": "x", "src_ip": "203.0.113.1", "data_type": "modbus"}',
        '{"timestamp": "2026-03-02T01:00:00", "id": "x", "src_ip": "999.1.1.1", "data_type": "modbus"}',
        '["a", "list"]',
        '{"timestamp": "2026-03-02T01:00:00", "src_ip": "203.0.113.1", "data_type": "modbus"}',
    ]
    return Scenario(spec, tenures, events, [bad[i % len(bad)] for i in range(spec.bad_lines)], ptr_names, until)
