"""The report's chart: attacks per hour over time, one panel per honeypot tenure, on one time
axis so panels can be read against each other (a rise in every panel at once is the background,
not indexing). Milestones are vertical lines with a short label; the hour's rate is count over
exposure so a tenure's partial first and last hours do not look like a lull. Each panel's title
carries its ratio after first indexed, alone and against the controls. Agg backend: no display needed.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # after the backend is chosen
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from ics_honeynet.research.model import Milestone
from ics_honeynet.research.report import HoneypotReport, Report
from ics_honeynet.research.stats import Comparison, Metric, Scope
from ics_honeynet.research.timeline import Mark

LineStyle = Literal["-", "--", "-.", ":"]
STYLE: dict[Milestone, tuple[str, LineStyle, str]] = {  # colour, line style, short label
    Milestone.STARTED: ("#555555", ":", "start"),
    Milestone.ASSIGNED: ("#2ca02c", ":", "arm"),
    Milestone.FIRST_CONTACT: ("#8c8c8c", ":", "1st contact"),
    Milestone.FIRST_SCANNER_CONTACT: ("#1f77b4", "--", "scanner"),
    Milestone.FIRST_INDEXED: ("#d62728", "-", Milestone.FIRST_INDEXED.phrase.removeprefix("first ")),
    Milestone.FIRST_FINGERPRINTED: ("#9467bd", "-", Milestone.FIRST_FINGERPRINTED.phrase.removeprefix("first ")),
    Milestone.ROTATED: ("#000000", "-.", "rotated"),
}
SHOWN = (Milestone.FIRST_SCANNER_CONTACT, Milestone.FIRST_INDEXED, Milestone.FIRST_FINGERPRINTED, Milestone.ROTATED)
CLOSE = 0.02  # marks closer than this share of the time axis get their labels on opposite sides


def _label(mark: Mark) -> str:
    """A mark's short label; a scanner's names its operator ("Shodan scanner")."""
    text = STYLE[mark.milestone][2]
    if mark.milestone is Milestone.FIRST_SCANNER_CONTACT and mark.detail:
        return f"{mark.detail.split(' ', 1)[0]} {text}"
    return text


def _sides(marks: list[Mark], since: datetime, until: datetime) -> list[bool]:
    """For each mark (in time order), whether its label goes left of its line: when the next mark
    follows closely (Shodan's crawler just before indexing, a fingerprint and the rotation it
    triggers), this one's label goes left and the next one's right, so they never share a spot."""
    span = (until - since).total_seconds() or 1.0
    return [
        index + 1 < len(marks) and (marks[index + 1].at - mark.at).total_seconds() / span < CLOSE
        for index, mark in enumerate(marks)
    ]


def _ratio(comparisons: list[Comparison], label: str, scope: Scope) -> str | None:
    for c in comparisons:
        if c.subject == label and c.scope is scope and c.milestone is Milestone.FIRST_INDEXED:
            e = c.estimate
            return "insufficient data" if e is None else f"{e.ratio:.2g}x (95% CI {e.low:.2g}-{e.high:.2g})"
    return None


def _title(honeypot: HoneypotReport, comparisons: list[Comparison]) -> str:
    label = honeypot.tenure.label
    if honeypot.tenure.first_indexed is None:
        return f"{label}: never indexed (a control)"
    own, controlled = (_ratio(comparisons, label, scope) for scope in (Scope.HONEYPOT, Scope.CONTROLLED))
    return f"{label}: after indexed {own}; against controls {controlled}"


def _rates(honeypot: HoneypotReport, metric: Metric) -> tuple[list[datetime], list[float], list[float]]:
    """Hour starts (plus the series' end), each hour's rate (an hour watched under a quarter is
    left blank: a count over a sliver of exposure is noise), and a centred 6-hour mean."""
    hours = [h.hour for h in honeypot.series]
    rates = [h.count(metric) / h.exposure if h.exposure >= 0.25 else math.nan for h in honeypot.series]
    smooth = []
    for index in range(len(rates)):
        window = [r for r in rates[max(0, index - 3) : index + 3] if not math.isnan(r)]
        smooth.append(sum(window) / len(window) if window else math.nan)
    if hours:
        last = honeypot.series[-1]
        hours.append(last.hour + timedelta(hours=last.exposure))
        rates.append(rates[-1])
        smooth.append(smooth[-1])
    return hours, rates, smooth


def draw(report: Report, path: Path) -> Path:
    """Write the chart to ``path`` (PNG) and return it."""
    honeypots = list(report.honeypots)
    rows = max(1, len(honeypots))
    height = 1.9 * rows + 1.2  # inches
    figure, axes = plt.subplots(rows, 1, sharex=True, figsize=(12, height), squeeze=False)
    comparisons = list(report.comparisons)
    noun = report.metric.noun
    for axis, honeypot in zip(axes[:, 0], honeypots, strict=False):
        hours, rates, smooth = _rates(honeypot, report.metric)
        axis.set_axisbelow(True)
        axis.fill_between(hours, rates, step="post", color="#c6dbef", linewidth=0)
        axis.step(hours, rates, where="post", color="#6baed6", linewidth=0.7)
        axis.plot(hours, smooth, color="#08519c", linewidth=1.4, drawstyle="steps-post")
        axis.set_title(_title(honeypot, comparisons), loc="left", fontsize=9)
        axis.set_ylabel(f"{noun}/h", fontsize=8)
        axis.set_xlim(report.since, report.until)
        axis.set_ylim(bottom=0)
        axis.tick_params(labelsize=8)
        axis.grid(axis="y", color="#eeeeee")
        shown = [mark for mark in honeypot.marks if mark.milestone in SHOWN]
        for mark, left in zip(shown, _sides(shown, report.since, report.until), strict=True):
            colour, style, _text = STYLE[mark.milestone]
            axis.axvline(mark.at, color=colour, linestyle=style, linewidth=1.3)
            axis.annotate(
                _label(mark),
                (mdates.date2num(mark.at), 1.0),  # type: ignore[no-untyped-call]  # matplotlib.dates is unannotated
                xycoords=("data", "axes fraction"),
                xytext=(-3 if left else 3, -3),
                textcoords="offset points",
                fontsize=7,
                color=colour,
                va="top",
                ha="right" if left else "left",
                rotation=90,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5},
            )
        stop = honeypot.tenure.end(report.until)  # rotated, or no longer seen running
        if stop < report.until:
            axis.axvspan(stop, report.until, color="#f0f0f0", zorder=0)
    if not honeypots:
        axes[0, 0].text(0.5, 0.5, "no honeypot tenures in the report", ha="center", va="center")
    last = axes[-1, 0]
    # matplotlib.dates is unannotated: its locators and formatter are untyped calls.
    last.xaxis.set_major_locator(mdates.DayLocator())  # type: ignore[no-untyped-call]
    last.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))  # type: ignore[no-untyped-call]
    last.xaxis.set_minor_locator(mdates.HourLocator(byhour=[6, 12, 18]))  # type: ignore[no-untyped-call]
    last.set_xlabel("UTC")
    handles = [
        Line2D([], [], color="#6baed6", label="per hour"),
        Line2D([], [], color="#08519c", linewidth=1.4, label="6-hour mean"),
        *(Line2D([], [], color=STYLE[m][0], linestyle=STYLE[m][1], label=m.phrase) for m in SHOWN),
    ]
    figure.legend(handles=handles, loc="upper right", ncol=len(handles), fontsize=8, frameon=False)
    what = "attacks (Conpot sessions)" if report.metric is Metric.SESSIONS else noun
    figure.suptitle(
        f"{what[0].upper()}{what[1:]} per hour, one panel per honeypot tenure, "
        f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC",
        x=0.01,
        y=1 - 0.3 / height,  # under the legend's row
        ha="left",
        va="top",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.15 / height))  # the panels start a little under the title
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
