"""Time to fingerprint: do honeypots serving a persona stay untagged longer than Conpot's stock
template?

Each tenure with a recorded persona is watched from its task's start until the first sweep that
found it tagged ``honeypot`` (``first_fingerprinted``), or, never tagged, until it ended (rotated,
stopped) or the report's end: a right-censored time to fingerprint. Tenures are grouped by what
they served: a persona (``p-...``) or the stock template (``PersonaSeed=stock``, the control).

Per group: fingerprints per 1,000 watched hours (events over exposure: the constant-hazard rate
estimate, which counts an untagged tenure's hours as it should, where a mean over the tagged ones
alone would not), and the median hours to fingerprint among the tagged. The comparison is the
rate ratio stock / persona with a 95% interval from the log ratio's variance 1/a + 1/b (0.5 added
to both counts when one is zero). The sweep checks every ``SweepSchedule``: times are known to
within one sweep.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ics_honeynet.persona import STOCK
from ics_honeynet.research.model import Tenure
from ics_honeynet.research.stats import CONFIDENCE, interval

HOUR_SECONDS = 3600.0


class Group(StrEnum):
    PERSONA = "persona"
    STOCK = "stock"


@dataclass(frozen=True)
class Watched:
    """One tenure's time to fingerprint: the hours watched, and whether it ended in a fingerprint."""

    tenure: Tenure
    hours: float
    fingerprinted: bool


def watched(tenure: Tenure, until: datetime) -> Watched:
    stop = tenure.end(until)
    tagged = tenure.first_fingerprinted is not None and tenure.first_fingerprinted <= stop
    if tagged:
        assert tenure.first_fingerprinted is not None
        stop = tenure.first_fingerprinted
    return Watched(tenure, max(0.0, (stop - tenure.started).total_seconds() / HOUR_SECONDS), tagged)


@dataclass(frozen=True)
class GroupFingerprinting:
    group: Group
    tenures: int
    personas: int  # distinct persona ids
    fingerprinted: int
    watched_hours: float
    median_hours_to_fingerprint: float | None  # among the tagged

    @property
    def rate_per_1000_hours(self) -> float | None:
        return 1000 * self.fingerprinted / self.watched_hours if self.watched_hours > 0 else None

    def to_json(self) -> dict[str, Any]:
        rate = self.rate_per_1000_hours
        median = self.median_hours_to_fingerprint
        return {
            "group": self.group,
            "tenures": self.tenures,
            "personas": self.personas,
            "fingerprintedTenures": self.fingerprinted,
            "watchedHours": round(self.watched_hours, 4),
            "fingerprintsPer1000Hours": None if rate is None else round(rate, 4),
            "medianHoursToFingerprint": None if median is None else round(median, 4),
        }


def _group(group: Group, items: Sequence[Watched]) -> GroupFingerprinting:
    tagged = [w.hours for w in items if w.fingerprinted]
    return GroupFingerprinting(
        group=group,
        tenures=len(items),
        personas=len({w.tenure.persona for w in items}),
        fingerprinted=len(tagged),
        watched_hours=sum(w.hours for w in items),
        median_hours_to_fingerprint=statistics.median(tagged) if tagged else None,
    )


@dataclass(frozen=True)
class FingerprintComparison:
    persona: GroupFingerprinting
    stock: GroupFingerprinting
    unlabelled: int  # tenures with no persona recorded (before personas, or extra IPs' none)
    ratio: float | None  # stock's rate / the personas' rate
    low: float | None
    high: float | None
    reason: str | None  # why there is no ratio
    reading: str

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": [self.persona.to_json(), self.stock.to_json()],
            "unlabelledTenures": self.unlabelled,
            "stockToPersonaRateRatio": None if self.ratio is None else round(self.ratio, 4),
            "ciLow": None if self.low is None else round(self.low, 4),
            "ciHigh": None if self.high is None else round(self.high, 4),
            "confidence": CONFIDENCE,
            "reason": self.reason,
            "reading": self.reading,
        }


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.2g}"


def _describe(g: GroupFingerprinting) -> str:
    median = "" if g.median_hours_to_fingerprint is None else f", median {g.median_hours_to_fingerprint:.1f} h"
    tagged = f"{g.fingerprinted} of {g.tenures} {g.group} tenures fingerprinted"
    return f"{tagged} in {g.watched_hours:.0f} h watched{median}"


def time_to_fingerprint(tenures: Sequence[Tenure], until: datetime) -> FingerprintComparison:
    """Personas against the stock template (module docstring)."""
    items = [watched(t, until) for t in tenures if t.persona is not None and t.started < until]
    persona = _group(Group.PERSONA, [w for w in items if w.tenure.persona != STOCK])
    stock = _group(Group.STOCK, [w for w in items if w.tenure.persona == STOCK])
    unlabelled = sum(1 for t in tenures if t.persona is None)
    reason = None
    if not persona.tenures or not stock.tenures:
        missing = "persona" if not persona.tenures else "stock (PersonaSeed=stock)"
        reason = f"no {missing} tenure watched: the comparison needs both"
    elif persona.watched_hours <= 0 or stock.watched_hours <= 0:
        reason = "a group was watched for no time"
    elif persona.fingerprinted + stock.fingerprinted == 0:
        reason = "no tenure was fingerprinted yet"
    if reason is not None:
        return FingerprintComparison(persona, stock, unlabelled, None, None, None, reason, f"Not compared: {reason}.")
    a, b = float(stock.fingerprinted), float(persona.fingerprinted)
    if a == 0 or b == 0:
        a, b = a + 0.5, b + 0.5
    log_ratio = math.log((a / stock.watched_hours) / (b / persona.watched_hours))
    # Poisson counts: the Wald variance 1/a + 1/b, on the normal (no dispersion estimated: df infinite).
    ratio, low, high = interval(log_ratio, 1 / a + 1 / b, math.inf)
    if low > 1:
        verdict = f"the stock template was fingerprinted {_number(ratio)}x as fast as personas"
    elif high < 1:
        verdict = f"personas were fingerprinted {_number(1 / ratio)}x as fast as the stock template"
    else:
        verdict = "no clear difference between personas and the stock template"
    reading = (
        f"Time to fingerprint: {verdict} (rate ratio {_number(ratio)}, "
        f"{CONFIDENCE:.0%} CI {_number(low)}-{_number(high)}); "
        f"{_describe(stock)}; {_describe(persona)}."
    )
    return FingerprintComparison(persona, stock, unlabelled, ratio, low, high, None, reading)
