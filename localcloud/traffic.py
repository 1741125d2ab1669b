"""A traffic scenario played against the local stack's honeypots over simulated hours.

``make report`` needs what the research report reads on AWS: days of Conpot events, attributed
to tenures whose milestones the sweeps recorded. ``play`` drives the local cloud on its
simulated wall clock (``LocalCloud(simulated_wall_clock=True)``), one hour per step:

1. the clock jumps to the end of the hour (localcloud/handler_patches.py, ``advance``);
2. each running honeypot's Conpot logs the hour's sessions to its JSON event log
   (``cloud.receive_attacks``): attackers at the honeypot's rate times the calendar every
   honeypot shares (a daily cycle, a level per day) times an hourly burst, times the scenario's
   effect once Shodan indexed (fingerprinted) it; a Censys scanner now and then; Shodan's crawler
   shortly before Shodan indexes the IP. From there the events take the deployed path: the
   shipper, the log group, the subscription, Firehose, the research bucket;
3. the local Shodan indexes or fingerprints the honeypots whose time has come (a profile's
   ``indexed_after_hours``/``fingerprinted_after_hours``, from its task's start, on the hour
   nearest to it);
4. on the sweep's schedule, the sweep runs as EventBridge starts it: it records the milestones in
   the exposure table and rotates as ``RotateOn`` says (a replacement task is a new tenure, with
   the profile of its slot).

The traffic's draws come from the research package's synthetic scenario (one seed, one run), so
the local cloud and the statistics' tests share one model of attack traffic. The crawlers' and
scanners' reverse DNS names are served by ``reverse_dns`` while the report runs (no network).
"""

from __future__ import annotations

import contextlib
import math
import random
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from unittest import mock

import boto3

from ics_honeynet.research import scenario as traffic_model
from localcloud.constants import REGION
from localcloud.ecs_scheduler import HoneypotTask
from localcloud.report import rotation_outcome
from localcloud.scenario import Profile, ReportSettings, render_host

if TYPE_CHECKING:
    from localcloud.cloud import LocalCloud, SweepRun

HOUR = timedelta(hours=1)
CENSYS_RANGES = ("167.94.138", "162.142.125", "206.168.34")  # Censys's scanning networks


@dataclass
class HoneypotLife:
    """What happened to one task over the scenario: its events, and when Shodan saw it."""

    task: HoneypotTask
    profile: Profile
    private_ip: str | None
    indexed: datetime | None = None  # when the local Shodan indexed it
    fingerprinted: datetime | None = None
    events: int = 0  # Conpot records written to its event log
    crawler_visit: datetime | None = None
    crawler: str | None = None


@dataclass
class Played:
    """The scenario as played: the report's window, each honeypot's life, the sweeps."""

    since: datetime
    until: datetime
    settings: ReportSettings
    honeypots: list[HoneypotLife]
    sweeps: list[SweepRun] = field(default_factory=list)
    ptr_names: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(life.events for life in self.honeypots)


def _spec(settings: ReportSettings) -> traffic_model.Spec:
    """The research package's traffic model with the scenario's settings (the tenures are the
    local cloud's tasks, not the model's plans)."""
    return traffic_model.Spec(
        plans=(),
        hours=settings.hours,
        effect_indexed=settings.effect_indexed,
        effect_fingerprinted=settings.effect_fingerprinted,
        burst_shape=settings.burst_shape,
        daily_amplitude=settings.daily_amplitude,
        campaign_sd=settings.campaign_sd,
        scanner_lead_hours=settings.crawler_lead_hours,
        records_per_session=settings.records_per_session,
    )


def _private_ip(task: HoneypotTask) -> str | None:
    """The task's private IP (Conpot's ``dst_ip``: the socket's local address on Fargate)."""
    found = boto3.client("ec2", region_name=REGION).describe_network_interfaces(NetworkInterfaceIds=[task.eni])
    interfaces = found.get("NetworkInterfaces") or [{}]
    address = interfaces[0].get("PrivateIpAddress")
    return str(address) if address else None


def _nearest_step(since: datetime, started: datetime, after_hours: float | None) -> datetime | None:
    """The hour step nearest to ``after_hours`` after ``started`` (None: never)."""
    if after_hours is None:
        return None
    due = started + timedelta(hours=after_hours)
    return since + HOUR * max(1, round((due - since) / HOUR))


class Player:
    def __init__(self, cloud: LocalCloud, progress: Callable[[str], None] = lambda _m: None) -> None:
        if not cloud.simulated_wall_clock:
            raise ValueError("a traffic scenario needs LocalCloud(simulated_wall_clock=True)")
        self.cloud, self.progress = cloud, progress
        self.settings = cloud.scenario.report
        self.spec = _spec(self.settings)
        self.rng = random.Random(self.settings.seed)  # reproducible traffic, not secrets
        days = math.ceil(self.settings.hours / 24) + 1
        self.campaign = [math.exp(self.rng.gauss(0, self.spec.campaign_sd)) for _ in range(days)]
        self.attackers = traffic_model.returning_attackers(self.rng)
        self.lives: dict[str, HoneypotLife] = {}
        running = cloud.wait_for_running(cloud.desired_count()) if cloud.desired_count() else []
        self.since = min((t.started_at for t in running), default=cloud.clock.now())
        self.played = Played(self.since, self.since + HOUR * self.settings.hours, self.settings, [])

    def _life(self, task: HoneypotTask) -> HoneypotLife:
        life = self.lives.get(task.task_arn)
        if life is None:
            profile = self.cloud.scenario.profile_for_slot(task.slot)
            life = HoneypotLife(task, profile, _private_ip(task))
            indexed = _nearest_step(self.since, task.started_at, profile.indexed_after_hours)
            if indexed is not None:  # Shodan's crawler looks the honeypot over before listing it
                life.crawler, ptr = traffic_model.shodan_crawler(self.rng)
                self.played.ptr_names[life.crawler] = ptr
                lead = self.rng.uniform(0.5, self.spec.scanner_lead_hours)
                life.crawler_visit = max(task.started_at, indexed - timedelta(hours=lead))
            self.lives[task.task_arn] = life
            self.played.honeypots.append(life)
        return life

    def _effect(self, life: HoneypotLife, moment: datetime) -> float:
        effect = 1.0
        if life.indexed is not None and moment >= life.indexed:
            effect *= self.spec.effect_indexed
        if life.fingerprinted is not None and moment >= life.fingerprinted:
            effect *= self.spec.effect_fingerprinted
        return effect

    def _sessions(self, life: HoneypotLife, step: int, lo: datetime, hi: datetime) -> list[tuple[datetime, str]]:
        """The sessions ``life``'s honeypot receives in [lo, hi), hour ``step`` of the scenario."""
        hours = (lo - self.since) / HOUR, (hi - self.since) / HOUR
        rate = life.profile.attacks_per_hour * traffic_model.calendar(self.spec, self.campaign, step)
        rate *= self._effect(life, lo)
        sessions = traffic_model.hour_sessions(
            self.rng, start=self.since, lo=hours[0], hi=hours[1], rate=rate, spec=self.spec, attackers=self.attackers
        )
        visits = traffic_model.poisson(self.rng, self.settings.censys_visits_per_day / 24 * (hours[1] - hours[0]))
        for _ in range(visits):
            network, host = self.rng.choice(CENSYS_RANGES), self.rng.randrange(1, 255)
            scanner = f"{network}.{host}"
            self.played.ptr_names[scanner] = f"scanner-{host % 40 + 1:02d}.ch1.censys-scanner.com"
            sessions.append((self.since + HOUR * self.rng.uniform(*hours), scanner))
        if life.crawler and life.crawler_visit and lo <= life.crawler_visit < hi:
            sessions.append((life.crawler_visit, life.crawler))
        return sorted(sessions)

    def _attacks(self, step: int, end: datetime) -> None:
        """Each running honeypot's Conpot logs the sessions of the hour ending at ``end``."""
        for task in self.cloud.scheduler.running_tasks():
            if task.ip is None:
                continue
            life = self._life(task)
            lo = max(task.started_at, end - HOUR)
            if lo >= end:
                continue
            lines = [
                event.to_json_line()
                for moment, source in self._sessions(life, step, lo, end)
                for event in traffic_model.session_events(
                    self.rng, moment, source, task.ip, life.private_ip, self.settings.records_per_session
                )
            ]
            if lines:
                life.events += self.cloud.receive_attacks(task, lines)

    def _exposure(self, now: datetime) -> None:
        """The local Shodan indexes / fingerprints the honeypots whose hour has come."""
        for life in self.lives.values():
            task, profile = life.task, life.profile
            if not task.running or task.ip is None:
                continue
            indexed = _nearest_step(self.since, task.started_at, profile.indexed_after_hours)
            tagged = _nearest_step(self.since, task.started_at, profile.fingerprinted_after_hours)
            kind = None
            if tagged is not None and tagged <= now and life.fingerprinted is None:
                kind, life.fingerprinted = "fingerprinted", now
                life.indexed = life.indexed or now
            elif indexed is not None and indexed <= now and life.indexed is None:
                kind, life.indexed = "indexed", now
            if kind is None:
                continue
            seen = Profile(
                kind=kind,
                ports=profile.ports,
                tags=("honeypot",) if kind == "fingerprinted" else profile.tags,
                honeyscore=1.0 if kind == "fingerprinted" else profile.honeyscore,
                org=profile.org,
                banner_age_hours=(now - task.started_at) / HOUR,
            )
            self.cloud.shodan.set_host(task.ip, render_host(task.ip, seen, task.started_at, now))
            self.cloud.shodan.set_honeyscore(task.ip, seen.honeyscore)
            self.progress(f"hour {(now - self.since) / HOUR:4.0f}: the local Shodan {kind} {task.ip}")

    def play(self) -> Played:
        every = self.settings.sweep_every_hours
        for task in self.cloud.scheduler.running_tasks():
            self._life(task)
        for step in range(1, self.settings.hours + 1):
            end = self.since + HOUR * step
            self.cloud.advance_clock(end)
            self._attacks(step - 1, end)
            self._exposure(end)
            if step % every == 0 and step < self.settings.hours:
                self.cloud.wait_until_shipped()
                run = self.cloud.run_sweep()
                self.played.sweeps.append(run)
                moved = [f"{chain['from']} -> {chain['to']}" for chain in rotation_outcome(run.history)]
                rotated = f" (rotated {', '.join(moved)})" if moved else ""
                self.progress(f"hour {step:4d}: sweep {run.name} {run.status}{rotated}")
        self.cloud.wait_until_shipped()
        return self.played


def play(cloud: LocalCloud, progress: Callable[[str], None] = lambda _m: None) -> Played:
    """Play ``cloud``'s scenario (its ``report`` settings) and return what happened."""
    return Player(cloud, progress).play()


@contextlib.contextmanager
def reverse_dns(names: Mapping[str, str]) -> Iterator[None]:
    """The machine's resolver answers the scenario's PTR names (``socket.gethostbyaddr``, what
    the report's resolver asks), and "no PTR record" for every other address, without a network."""

    def gethostbyaddr(ip: str) -> tuple[str, list[str], list[str]]:
        name = names.get(ip)
        if name is None:
            raise socket.herror(1, "Unknown host")
        return name, [], [ip]

    with mock.patch.object(socket, "gethostbyaddr", gethostbyaddr):
        yield
