"""The research report: Conpot's events and the honeypots' tenures in, a typed Report out.

``run_report`` streams the lines once (parse, attribute, count per hour), so its memory grows
with hours, sessions and sources, not with records. Bad lines and events no tenure holds are
counted by reason and shown (the first few bad lines with their line numbers), never dropped
silently. Reverse DNS for the first-crawler milestone is asked only after the stream, for the
earliest sources of each tenure, through a cached resolver with a timeout. ``write_outputs``
writes the JSON (every number), the CSV (one row per comparison) and the chart.

Reading S3 and DynamoDB is the caller's business (the CLI's ``--stack`` reader; files.py for a
local copy), so this module runs anywhere, Lambda included, without AWS or matplotlib.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ics_honeynet.contracts import format_utc
from ics_honeynet.research.attribution import Attributor, Unattributed
from ics_honeynet.research.fingerprinting import FingerprintComparison, time_to_fingerprint
from ics_honeynet.research.model import BadEventLine, ConpotEvent, Progress, Tenure
from ics_honeynet.research.stats import (
    COMPARED_MILESTONES,
    Comparison,
    HourCounts,
    HourlyCounter,
    Metric,
    Side,
    Subject,
    compare,
    experiment,
)
from ics_honeynet.research.timeline import CachedResolver, LookupStats, Mark, Resolver, system_resolver, timeline

ProgressCallback = Callable[[Progress], None]
BAD_LINE_SAMPLES = 20  # bad lines shown in full (the rest are counted)
PROGRESS_EVERY = 50_000  # lines between progress calls


@dataclass(frozen=True)
class BadLine:
    number: int  # 1-based, in the order the lines were given
    reason: str
    excerpt: str


@dataclass
class InputSummary:
    """What became of every line: parsed + bad + blank = lines; attributed + unattributed = parsed."""

    lines: int = 0
    blank: int = 0
    parsed: int = 0
    bad: int = 0
    bad_samples: list[BadLine] = field(default_factory=list)
    attributed: int = 0
    unattributed: dict[Unattributed, int] = field(default_factory=lambda: dict.fromkeys(Unattributed, 0))


@dataclass(frozen=True)
class HoneypotReport:
    tenure: Tenure
    marks: Sequence[Mark]
    series: Sequence[HourCounts]

    def total(self, metric: Metric) -> int:
        return sum(hour.count(metric) for hour in self.series)


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    metric: Metric
    input: InputSummary
    honeypots: Sequence[HoneypotReport]
    comparisons: Sequence[Comparison]
    lookups: LookupStats
    # Personas against the stock template: how fast each got fingerprinted.
    fingerprinting: FingerprintComparison | None = None

    def to_json(self) -> dict[str, Any]:
        """Every number of the report, as JSON values (times in ISO 8601 UTC)."""
        return {
            "since": format_utc(self.since),
            "until": format_utc(self.until),
            "metric": self.metric,
            "input": {
                "lines": self.input.lines,
                "blank": self.input.blank,
                "parsed": self.input.parsed,
                "bad": self.input.bad,
                "badSamples": [vars(bad) for bad in self.input.bad_samples],
                "attributed": self.input.attributed,
                "unattributed": dict(self.input.unattributed),
            },
            "reverseDns": vars(self.lookups),
            "honeypots": [_honeypot_json(h) for h in self.honeypots],
            "comparisons": [_comparison_json(c) for c in self.comparisons],
            "timeToFingerprint": None if self.fingerprinting is None else self.fingerprinting.to_json(),
        }

    def csv_rows(self) -> list[dict[str, Any]]:
        """One row per comparison (CSV_COLUMNS); blanks where a number does not apply."""
        return [_csv_row(c) for c in self.comparisons]


def _side_json(side: Side | None) -> dict[str, Any] | None:
    return None if side is None else {"count": side.count, "hours": round(side.hours, 4), "bins": side.bins}


def _honeypot_json(h: HoneypotReport) -> dict[str, Any]:
    t = h.tenure
    return {
        "label": t.label,
        "honeypotIp": t.honeypot_ip,
        "taskArn": t.task_arn,
        "privateIp": t.private_ip,
        "arm": t.arm,
        "persona": None if t.persona is None else {"id": t.persona, "model": t.persona_model},
        "milestones": [
            {"milestone": m.milestone, "at": format_utc(m.at), **({"detail": m.detail} if m.detail else {})}
            for m in h.marks
        ],
        "totals": {metric.value: h.total(metric) for metric in Metric},
        "hourly": [
            {
                "hour": format_utc(hour.hour),
                "exposure": round(hour.exposure, 4),
                "events": hour.events,
                "sessions": hour.sessions,
                "sources": hour.sources,
                "protocols": dict(hour.protocols),
            }
            for hour in h.series
        ],
    }


def _comparison_json(c: Comparison) -> dict[str, Any]:
    e = c.estimate
    return {
        "milestone": c.milestone,
        "scope": c.scope,
        "subject": c.subject,
        "metric": c.metric,
        "status": c.status,
        "reason": c.reason,
        "ratio": None if e is None else e.ratio,
        "ciLow": None if e is None else e.low,
        "ciHigh": None if e is None else e.high,
        "dispersion": None if e is None else e.dispersion,
        "df": None if e is None else e.df,
        "before": _side_json(c.before),
        "after": _side_json(c.after),
        "treatedRatio": c.treated_ratio,
        "controlRatio": c.control_ratio,
        "controlBefore": _side_json(c.control_before),
        "controlAfter": _side_json(c.control_after),
        "units": c.units,
        "reading": c.reading,
    }


CSV_COLUMNS = (
    "milestone",
    "scope",
    "subject",
    "metric",
    "status",
    "ratio",
    "ci_low",
    "ci_high",
    "dispersion",
    "df",
    "before_count",
    "before_hours",
    "after_count",
    "after_hours",
    "treated_ratio",
    "control_ratio",
    "control_before_count",
    "control_before_hours",
    "control_after_count",
    "control_after_hours",
    "units",
    "reason",
    "reading",
)


def _csv_row(c: Comparison) -> dict[str, Any]:
    flat = _comparison_json(c)
    row: dict[str, Any] = {
        "milestone": c.milestone,
        "scope": c.scope,
        "subject": c.subject,
        "metric": c.metric,
        "status": c.status,
        "ratio": flat["ratio"],
        "ci_low": flat["ciLow"],
        "ci_high": flat["ciHigh"],
        "dispersion": flat["dispersion"],
        "df": flat["df"],
        "treated_ratio": c.treated_ratio,
        "control_ratio": c.control_ratio,
        "units": c.units,
        "reason": c.reason,
        "reading": c.reading,
    }
    for name, side in (
        ("before", c.before),
        ("after", c.after),
        ("control_before", c.control_before),
        ("control_after", c.control_after),
    ):
        row[f"{name}_count"] = None if side is None else side.count
        row[f"{name}_hours"] = None if side is None else round(side.hours, 4)
    return {column: ("" if row[column] is None else row[column]) for column in CSV_COLUMNS}


def _parsed(
    lines: Iterable[str | bytes], summary: InputSummary, progress: ProgressCallback | None
) -> Iterable[ConpotEvent]:
    for number, line in enumerate(lines, start=1):
        summary.lines = number
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(Progress("lines", number))
        if not line.strip():
            summary.blank += 1
            continue
        try:
            event = ConpotEvent.from_json_line(line)
        except BadEventLine as bad:
            summary.bad += 1
            if len(summary.bad_samples) < BAD_LINE_SAMPLES:
                text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
                summary.bad_samples.append(BadLine(number, str(bad), text.strip()[:120]))
            continue
        summary.parsed += 1
        yield event


def report_from_events(
    events: Iterable[ConpotEvent],
    tenures: Sequence[Tenure],
    *,
    since: datetime,
    until: datetime,
    resolver: Resolver,
    metric: Metric = Metric.SESSIONS,
    summary: InputSummary | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """The report from parsed events (run_report parses the lines first). ``resolver`` is used
    as given: wrap it in a CachedResolver for a real network."""
    summary = summary if summary is not None else InputSummary()
    attributor = Attributor(tenures, since=since, until=until)
    counter = HourlyCounter()
    for event in events:
        found = attributor.attribute(event)
        if isinstance(found, Unattributed):
            summary.unattributed[found] += 1
        else:
            summary.attributed += 1
            counter.add(found, event)
    if progress is not None:
        progress(Progress("lines", summary.lines, summary.lines))
    ordered = sorted(tenures, key=lambda t: (t.started, t.honeypot_ip))
    honeypots = []
    for done, tenure in enumerate(ordered, start=1):
        marks = timeline(tenure, counter.first_seen.get(tenure, {}), resolver, until)
        honeypots.append(HoneypotReport(tenure, marks, counter.series(tenure, since=since, until=until)))
        if progress is not None:
            progress(Progress("honeypots", done, len(ordered)))
    subjects = [Subject(h.tenure, h.series) for h in honeypots]
    comparisons = [c for milestone in COMPARED_MILESTONES for c in compare(subjects, milestone, metric)]
    randomised = experiment(subjects, metric)  # experiment mode: treatment vs control
    if randomised is not None:
        comparisons.append(randomised)
    lookups = resolver.stats if isinstance(resolver, CachedResolver) else LookupStats()
    return Report(since, until, metric, summary, honeypots, comparisons, lookups, time_to_fingerprint(tenures, until))


def run_report(
    events_lines: Iterable[str | bytes],
    tenures: Sequence[Tenure],
    *,
    since: datetime,
    until: datetime,
    resolver: Resolver = system_resolver,
    progress: ProgressCallback | None = None,
    metric: Metric = Metric.SESSIONS,
    lookup_timeout: float = 2.0,
) -> Report:
    """The report over Conpot JSON lines (any order) for ``tenures`` within [since, until).
    ``resolver`` (IP -> PTR name) is cached and given ``lookup_timeout`` seconds a lookup."""
    if not since < until:
        raise ValueError(f"since ({format_utc(since)}) must be before until ({format_utc(until)})")
    summary = InputSummary()
    return report_from_events(
        _parsed(events_lines, summary, progress),
        tenures,
        since=since,
        until=until,
        resolver=CachedResolver(resolver, timeout=lookup_timeout),
        metric=metric,
        summary=summary,
        progress=progress,
    )


@dataclass(frozen=True)
class OutputPaths:
    png: Path | None
    json: Path
    csv: Path


def write_outputs(report: Report, directory: Path | str, *, chart: bool = True) -> OutputPaths:
    """research-report.json, .csv and (``chart``, needs matplotlib) .png in ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = folder / "research-report.json", folder / "research-report.csv"
    json_path.write_text(json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(report.csv_rows())
    png_path = None
    if chart:
        from ics_honeynet.research.chart import draw  # matplotlib only when a chart is asked for

        png_path = draw(report, folder / "research-report.png")
    return OutputPaths(png_path, json_path, csv_path)
