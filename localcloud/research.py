"""``make report``: the research report of a traffic scenario played in the local cloud.

    python -m localcloud report [--scenario scenarios/report.yaml] [--out DIR] [--time-scale F]

Deploys the real stack into the local cloud on a simulated wall clock, plays the scenario's
hours (localcloud/traffic.py: attacks through the real event pipeline, Shodan indexing and
fingerprinting honeypots, the scheduled sweeps recording it), then runs the real
``python -m ics_honeynet report --stack`` code against the local stack (its ExposureTableName and
ResearchDataBucketName outputs, the same boto3 calls a laptop makes), with the scenario's reverse
DNS. Writes research-report.{png,json,csv} to ``--out`` and prints the readings, next to the
effect the scenario injected; then fires the scheduled report function (WeeklyReportFunction)
as its EventBridge rule would and prints the email it sent. Exit status: the report's (0), 1 if
a sweep or the scheduled report failed or an event was lost, 2 on a bad option or scenario file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ics_honeynet.contracts import format_utc
from ics_honeynet.research import cli as report_cli
from ics_honeynet.research.stats import Metric, Scope
from localcloud.cloud import DEFAULT_TIME_SCALE, Email, LocalCloud, ScheduledRun
from localcloud.constants import PROJECT_ROOT, REGION
from localcloud.scenario import ScenarioError, load_scenario
from localcloud.traffic import Played, play, reverse_dns

REPORT_SCENARIO = PROJECT_ROOT / "scenarios" / "report.yaml"
WEEKLY_REPORT_FUNCTION = "WeeklyReportFunction"
WEEKLY_SUBJECT = "ICS honeynet weekly report"
DEFAULT_OUT = Path(".localcloud") / "research-report"


@dataclass
class ReportRun:
    """What ``make report`` did: the scenario played, the events at each stage, the report, and
    the email the scheduled report function sent."""

    played: Played
    status: int  # the report command's exit status
    out: Path
    stored_events: int  # event records in the research bucket
    failures: list[str] = field(default_factory=list)  # events lost on the way, and why
    scheduled: ScheduledRun | None = None  # WeeklyReportFunction, fired as its schedule would
    weekly_email: Email | None = None

    def headline(self) -> dict[str, Any] | None:
        """The report's pooled, controlled comparison at first indexed (its JSON), if written."""
        path = self.out / "research-report.json"
        if not path.exists():
            return None
        for comparison in json.loads(path.read_text())["comparisons"]:
            if comparison["milestone"] == "first_indexed" and comparison["scope"] == Scope.POOLED_CONTROLLED:
                return dict(comparison)
        return None

    @property
    def failed_sweeps(self) -> list[str]:
        failed = [run for run in self.played.sweeps if not run.succeeded]
        return [f"{run.name}: {run.status} {run.error or ''}".strip() for run in failed]


def run_report(
    scenario: Path = REPORT_SCENARIO,
    out: Path = DEFAULT_OUT,
    *,
    time_scale: float | None = None,
    progress: Any = lambda _m: None,
    stderr: TextIO = sys.stderr,
) -> ReportRun:
    """Play ``scenario`` in a fresh local cloud and write its research report to ``out``."""
    loaded = load_scenario(scenario)
    with LocalCloud(
        scenario_path=scenario,
        tasks=loaded.tasks,
        rotate_on=loaded.rotate_on or "never",
        time_scale=time_scale or loaded.time_scale or DEFAULT_TIME_SCALE,
        parameters=dict(loaded.parameters),
        simulated_wall_clock=True,
        progress=progress,
    ) as cloud:
        progress(f"playing {loaded.report.hours} simulated hours, a sweep every {loaded.report.sweep_every_hours} h")
        played = play(cloud, progress)
        stored = sum(len(lines) for lines in cloud.stored_events().values())
        failures = cloud.event_delivery_failures()
        progress(f"{played.events:,} Conpot event records written, {stored:,} in the research bucket")
        progress(f"the report: python -m ics_honeynet report --stack {cloud.stack_name} (the local cloud's account)")
        args = argparse.Namespace(
            stack=cloud.stack_name,
            region=REGION,
            since=format_utc(played.since),
            until=format_utc(played.until),
            events_dir=None,
            out=str(out),
            metric=Metric.SESSIONS.value,
            no_chart=False,
        )
        with reverse_dns(played.ptr_names):
            status = report_cli.run(args, stderr=stderr)
            progress("the weekly report: WeeklyReportFunction, fired as its EventBridge schedule would")
            scheduled = cloud.fire_schedule(WEEKLY_REPORT_FUNCTION)
        emails = [e for e in cloud.emails() if e.subject.startswith(WEEKLY_SUBJECT)]
    return ReportRun(played, status, Path(out), stored, failures, scheduled, emails[-1] if emails else None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=Path, default=REPORT_SCENARIO, metavar="FILE",
                        help="traffic scenario YAML (default: scenarios/report.yaml)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help=f"folder for the PNG, JSON and CSV (default {DEFAULT_OUT})")  # fmt: skip


def main(args: argparse.Namespace) -> int:
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"==> [{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    progress(f"scenario {args.scenario.name}: {scenario.description or '(no description)'}")
    done = run_report(args.scenario, args.out, time_scale=args.time_scale, progress=progress)
    settings = done.played.settings
    print()
    print(
        f"Injected by the scenario: attacks per hour x{settings.effect_indexed:g} once Shodan indexed a honeypot, "
        f"x{settings.effect_fingerprinted:g} more once it tagged it honeypot (seed {settings.seed})."
    )
    headline = done.headline()
    if headline is not None:
        print(f"The report's headline (every indexed honeypot, against the controls): {headline['reading']}")
        if headline["ciLow"] is not None:
            holds = headline["ciLow"] <= settings.effect_indexed <= headline["ciHigh"]
            print(f"  its 95% interval {'holds' if holds else 'MISSES'} the injected x{settings.effect_indexed:g}")
    print(f"Events: {done.played.events:,} written by Conpot, {done.stored_events:,} stored in the research bucket.")
    if done.weekly_email is not None:
        print()
        print("The weekly email (WeeklyReportFunction, as its schedule runs it in AWS; the link is the local cloud's,")
        print("signed on the real clock, not the scenario's):")
        print(f"  Subject: {done.weekly_email.subject}")
        print("\n".join(f"  {line}" for line in done.weekly_email.body.splitlines()))
    elif done.scheduled is not None:
        print(f"  the weekly report function did not email: {done.scheduled.error or done.scheduled.refused}")
    for failure in done.failures:
        print(f"  lost: {failure}")
    for sweep in done.failed_sweeps:
        print(f"  sweep failed: {sweep}")
    if done.status != 0:
        return done.status
    weekly_failed = done.scheduled is None or not done.scheduled.succeeded
    return 1 if done.failures or done.failed_sweeps or weekly_failed else 0
