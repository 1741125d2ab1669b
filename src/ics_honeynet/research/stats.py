"""Hourly attack counts per tenure, and how the rate changes at an exposure milestone.

What is counted. Each tenure's time inside the report window is cut into clock hours; each hour
has its *exposure* (the hours of it the tenure was watched: 1, or less at the ends) and its
counts: event records, Conpot sessions, distinct sources, and sessions per protocol. A session
(one source using one protocol until a few idle seconds) is the report's "attack": records per
session depend on how chatty a protocol is, sessions do not. Hours with no event are zeros, not
missing: they are the evidence of a quiet honeypot.

Comparisons, for a milestone M (first indexed, first fingerprinted):

- per honeypot: the rate after M over the rate before M (attacks per exposure hour), between
  adjacent exposure states: first indexed compares the never-indexed hours with the indexed
  (not yet fingerprinted) ones, first fingerprinted compares those with the fingerprinted ones.
  The clock hour in which M falls is left out of both sides (its events cannot be split at M).
- pooled: the Mantel-Haenszel rate ratio over honeypots (each honeypot a stratum, so a honeypot
  with a long quiet "before" cannot pass for an effect), with the Greenland-Robins variance.
- controlled: the same honeypot's ratio divided by the ratio, over the same calendar hours, of
  honeypots not yet indexed then (the controls; each control a Mantel-Haenszel stratum, counted
  only in hours before its own first indexed). Attack traffic rises and falls for everyone
  (campaigns, botnets, weekdays); the ratio of ratios keeps only what the controls did not see.
  The honeypot's side uses just the hours some control was watched.
- pooled controlled: the pooled treated ratio over the pooled control ratio.

The interval, and why this method. Attack traffic is bursty: one botnet sweep gives a hundred
sessions in an hour, then nothing. An exact Poisson interval on raw counts assumes variance =
mean and comes out falsely narrow. The model used is quasi-Poisson: the variance of an hour's
count is phi times its mean, with the dispersion phi estimated from the hourly counts themselves
(Pearson chi-square of the hours against the fitted before/after rates, over its degrees of
freedom; never below 1, so sparse data never claims to be tighter than Poisson). The 95% interval
is on the log scale, exp(log RR +- t * sqrt(phi * Var_MH)), with Student's t on phi's degrees of
freedom (phi is estimated). It handles zeros in single hours, needs nothing beyond the stdlib
(Lambda light: math and statistics.NormalDist), and its coverage is checked by a test over
seeded synthetic scenarios with overdispersed traffic. Rejected: a day-block bootstrap
(honest about autocorrelation, but a honeypot is often indexed within a day or two, leaving too
few day blocks before M to resample), and exact Poisson on dispersion-adjusted counts (needs
beta quantiles by bisection for no gain at these counts). Known limits: hours are taken as
independent given the rates, so bursts lasting several hours make the interval somewhat narrow
(diurnal swings, by contrast, inflate phi and widen it); a milestone is when a sweep *saw* the
change, so a few "before" hours may already be "after", biasing ratios towards 1; controls
shared by several honeypots are counted once per honeypot in the pooled controlled ratio, so
its control variance is multiplied by the largest such reuse (conservative).

The experiment (experiment mode: each tenure drawn at random into treatment - a Shodan scan
requested - or control). The comparison is treatment vs control, attacks per hour from each
tenure's assignment onward (intention to treat: whether the scan was made, failed or Shodan
indexed a control anyway, a tenure counts in its drawn arm), with the hour holding the
assignment left out as above. Randomisation, not the hours, is what the inference rests on, so
the unit is the tenure: each tenure's hours after assignment are one observation (its count over
its exposure hours), and phi is estimated from the tenures (Pearson chi-square of each tenure's
count against its arm's rate, over tenures less 2). That is the same quasi-Poisson interval, with
t on phi's degrees of freedom; honeypots differ in how attractive they are (IP range, history),
and hour-level phi would hide that behind many hours, making the interval falsely narrow. Because
the arm is drawn by a fair coin, it is independent of everything that confounds a before/after
comparison (calendar time, campaigns, the IP's past), so the ratio needs no controls: its
expectation is the effect of requesting the scan.

Too little data is a result, not a crash or a made-up number: fewer than ``MIN_HOURS`` exposure
hours on a side, no attack on a side (no finite ratio), no control watched on both sides, or too
few hours to estimate phi each give ``INSUFFICIENT_DATA`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from statistics import NormalDist

from ics_honeynet.contracts import Arm
from ics_honeynet.research.model import ConpotEvent, Milestone, Tenure

HOUR = timedelta(hours=1)
MIN_HOURS = 6.0  # exposure hours needed on each side of a milestone (and for a control)
MIN_DF = 3  # degrees of freedom needed to estimate the dispersion (t's expansion holds from 3)
CONFIDENCE = 0.95
COMPARED_MILESTONES = (Milestone.FIRST_INDEXED, Milestone.FIRST_FINGERPRINTED)


class Metric(StrEnum):
    """What a comparison counts per hour."""

    SESSIONS = "sessions"  # the report's "attacks"
    EVENTS = "events"
    SOURCES = "sources"

    @property
    def noun(self) -> str:
        return {"sessions": "attacks", "events": "events", "sources": "distinct sources"}[self.value]


class Scope(StrEnum):
    HONEYPOT = "HONEYPOT"
    POOLED = "POOLED"
    CONTROLLED = "CONTROLLED"
    POOLED_CONTROLLED = "POOLED_CONTROLLED"
    EXPERIMENT = "EXPERIMENT"  # treatment vs control arm, from assignment (intention to treat)


class Status(StrEnum):
    ESTIMATED = "ESTIMATED"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


# -- hourly counts ----------------------------------------------------------------------------
@dataclass(frozen=True)
class HourCounts:
    """One clock hour of one tenure: ``exposure`` hours watched (0 < exposure <= 1)."""

    hour: datetime
    exposure: float
    events: int = 0
    sessions: int = 0
    sources: int = 0
    protocols: Mapping[str, int] = field(default_factory=dict)  # sessions per data_type

    def count(self, metric: Metric) -> int:
        return {Metric.SESSIONS: self.sessions, Metric.EVENTS: self.events, Metric.SOURCES: self.sources}[metric]


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


@dataclass
class _Hour:
    events: int = 0
    sessions: int = 0
    sources: set[str] = field(default_factory=set)
    protocols: dict[str, int] = field(default_factory=dict)


class HourlyCounter:
    """Counts attributed events per tenure and clock hour, streaming (one event at a time). A
    session is counted in the hour of its first record (all of a session's records carry its
    start time anyway)."""

    def __init__(self) -> None:
        self._hours: dict[Tenure, dict[datetime, _Hour]] = {}
        self._sessions: dict[Tenure, set[str]] = {}
        self.first_seen: dict[Tenure, dict[str, datetime]] = {}  # source -> its first event

    def add(self, tenure: Tenure, event: ConpotEvent) -> None:
        hour = self._hours.setdefault(tenure, {}).setdefault(floor_hour(event.timestamp), _Hour())
        hour.events += 1
        hour.sources.add(event.src_ip)
        sessions = self._sessions.setdefault(tenure, set())
        if event.session_id not in sessions:
            sessions.add(event.session_id)
            hour.sessions += 1
            hour.protocols[event.data_type] = hour.protocols.get(event.data_type, 0) + 1
        seen = self.first_seen.setdefault(tenure, {})
        if event.src_ip not in seen or event.timestamp < seen[event.src_ip]:
            seen[event.src_ip] = event.timestamp

    def series(self, tenure: Tenure, *, since: datetime, until: datetime) -> list[HourCounts]:
        """Every clock hour the tenure was watched within [since, until), zeros included."""
        start, end = max(tenure.started, since), tenure.end(until)
        counted = self._hours.get(tenure, {})
        hours: list[HourCounts] = []
        hour = floor_hour(start)
        while hour < end:
            exposure = (min(hour + HOUR, end) - max(hour, start)) / HOUR
            found = counted.get(hour, _Hour())
            if exposure > 0:
                hours.append(
                    HourCounts(hour, exposure, found.events, found.sessions, len(found.sources), dict(found.protocols))
                )
            hour += HOUR
        return hours


# -- the interval's arithmetic ----------------------------------------------------------------
def t_quantile(p: float, df: float) -> float:
    """Student's t quantile by the Cornish-Fisher expansion about the normal (within 0.004 of
    the exact value from 3 degrees of freedom; the stdlib has no t distribution)."""
    z = NormalDist().inv_cdf(p)
    if math.isinf(df):
        return z
    terms = (
        (z**3 + z) / 4,
        (5 * z**5 + 16 * z**3 + 3 * z) / 96,
        (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384,
        (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160,
    )
    return z + sum(term / df ** (power + 1) for power, term in enumerate(terms))


@dataclass(frozen=True)
class Side:
    """One side of a milestone: ``count`` over ``hours`` of exposure in ``bins`` clock hours."""

    count: int
    hours: float
    bins: int

    @property
    def rate(self) -> float:
        return self.count / self.hours if self.hours else math.nan


def side(bins: Sequence[HourCounts], metric: Metric) -> Side:
    return Side(sum(b.count(metric) for b in bins), sum(b.exposure for b in bins), len(bins))


@dataclass(frozen=True)
class Stratum:
    """One honeypot's (or control's) hours on each side of the milestone."""

    before: Sequence[HourCounts]
    after: Sequence[HourCounts]

    def sides(self, metric: Metric) -> tuple[Side, Side]:
        return side(self.before, metric), side(self.after, metric)


def pearson(strata: Iterable[Stratum], metric: Metric) -> tuple[float, int]:
    """Pearson chi-square of the hours against each stratum's before/after rates, and its
    degrees of freedom (hours less the rates fitted)."""
    chi2, df = 0.0, 0
    for stratum in strata:
        for bins in (stratum.before, stratum.after):
            total = side(bins, metric)
            df += len(bins) - 1
            if total.count == 0:
                continue  # every hour is 0 = its fitted mean
            for b in bins:
                expected = total.rate * b.exposure
                chi2 += (b.count(metric) - expected) ** 2 / expected
    return chi2, df


def mantel_haenszel(strata: Iterable[tuple[Side, Side]]) -> tuple[float, float] | None:
    """The Mantel-Haenszel rate ratio after/before over strata, and the Greenland-Robins
    variance of its log; None when either sum is 0 (no finite ratio)."""
    r = s = v = 0.0
    for before, after in strata:
        total = before.hours + after.hours
        r += after.count * before.hours / total
        s += before.count * after.hours / total
        v += after.hours * before.hours * (after.count + before.count) / total**2
    if r == 0 or s == 0:
        return None
    return r / s, v / (r * s)


@dataclass(frozen=True)
class Estimate:
    ratio: float
    low: float
    high: float
    dispersion: float  # phi (the larger of treated and control for a controlled ratio)
    df: int


def interval(log_ratio: float, variance: float, df: float) -> tuple[float, float, float]:
    half = t_quantile(0.5 + CONFIDENCE / 2, df) * math.sqrt(variance)
    return math.exp(log_ratio), math.exp(log_ratio - half), math.exp(log_ratio + half)


class Insufficient(Exception):
    """Why a comparison has no estimate (becomes an INSUFFICIENT_DATA result, never a crash)."""


def dispersion(strata: Sequence[Stratum], metric: Metric) -> tuple[float, int]:
    chi2, df = pearson(strata, metric)
    if df < MIN_DF:
        raise Insufficient(f"{df} degrees of freedom to estimate the dispersion; {MIN_DF} needed")
    return max(1.0, chi2 / df), df


def ratio_estimate(strata: Sequence[Stratum], metric: Metric) -> tuple[float, float, float, int]:
    """log MH ratio, its quasi-Poisson variance (phi-scaled), phi and phi's df."""
    found = mantel_haenszel(s.sides(metric) for s in strata)
    if found is None:
        raise Insufficient("no finite ratio: no attacks on one side")
    phi, df = dispersion(strata, metric)
    return math.log(found[0]), found[1] * phi, phi, df


# -- comparisons ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """One row of the report: a rate ratio at a milestone, or why there is none."""

    milestone: Milestone
    scope: Scope
    subject: str  # the honeypot's label, or "N honeypots"
    metric: Metric
    status: Status
    reason: str | None = None
    before: Side | None = None
    after: Side | None = None
    estimate: Estimate | None = None
    control_before: Side | None = None
    control_after: Side | None = None
    control_ratio: float | None = None
    treated_ratio: float | None = None  # the honeypot's own ratio over the controlled hours
    units: int = 1  # honeypots pooled, or controls used
    reading: str = ""


def _sum_sides(sides: Iterable[Side]) -> Side:
    listed = list(sides)
    return Side(sum(s.count for s in listed), sum(s.hours for s in listed), sum(s.bins for s in listed))


def split(
    series: Sequence[HourCounts], moment: datetime, *, after: datetime | None = None, before: datetime | None = None
) -> Stratum:
    """The hours wholly before and wholly after ``moment`` (the hour holding it is in neither),
    the first side starting at ``after`` and the second ending at ``before`` when given."""
    return Stratum(
        [b for b in series if b.hour + HOUR <= moment and (after is None or b.hour >= after)],
        [b for b in series if b.hour >= moment and (before is None or b.hour + HOUR <= before)],
    )


# Each comparison is between adjacent exposure states: first indexed compares never-indexed
# hours with indexed-not-fingerprinted ones, first fingerprinted compares those with
# fingerprinted ones (an IP that went straight to fingerprinted has no middle state).
PRECEDING = {Milestone.FIRST_FINGERPRINTED: Milestone.FIRST_INDEXED}
FOLLOWING = {Milestone.FIRST_INDEXED: Milestone.FIRST_FINGERPRINTED}


def states(tenure: Tenure, milestone: Milestone, series: Sequence[HourCounts]) -> Stratum | None:
    """The tenure's hours in the state before ``milestone`` and in the state it began (None: not
    reached)."""
    moment = tenure.milestone(milestone)
    if moment is None:
        return None
    preceding = tenure.milestone(PRECEDING[milestone]) if milestone in PRECEDING else None
    following = tenure.milestone(FOLLOWING[milestone]) if milestone in FOLLOWING else None
    return split(series, moment, after=preceding, before=following if following and following > moment else None)


def _context(milestone: Milestone) -> str:
    if milestone in PRECEDING:
        return f"{milestone.phrase} (from {PRECEDING[milestone].phrase})"
    if milestone in FOLLOWING:
        return f"{milestone.phrase} (until {FOLLOWING[milestone].phrase})"
    return milestone.phrase


def _check_hours(stratum: Stratum, phrase: str) -> None:
    before, after = (sum(b.exposure for b in bins) for bins in (stratum.before, stratum.after))
    for name, hours in (("before", before), ("after", after)):
        if hours < MIN_HOURS:
            raise Insufficient(f"{hours:.1f} h watched {name} {phrase}; {MIN_HOURS:g} h needed on each side")


@dataclass(frozen=True)
class Subject:
    """A tenure's hourly series, as the comparisons see it."""

    tenure: Tenure
    series: Sequence[HourCounts]


def _control_strata(
    treated: Subject, stratum: Stratum, subjects: Sequence[Subject]
) -> tuple[Stratum, list[Stratum], list[Tenure]]:
    """The controls of ``treated``: every other tenure, in the hours it was not yet indexed that
    are also hours of ``stratum``, kept when watched ``MIN_HOURS`` on each side. Returns the
    treated hours that some control shares, the controls' strata, and their tenures."""
    before_hours = {b.hour for b in stratum.before}
    after_hours = {b.hour for b in stratum.after}
    controls: list[Stratum] = []
    tenures: list[Tenure] = []
    for other in subjects:
        if other.tenure == treated.tenure:
            continue
        indexed = other.tenure.first_indexed
        eligible = [b for b in other.series if indexed is None or b.hour + HOUR <= indexed]
        candidate = Stratum(
            [b for b in eligible if b.hour in before_hours], [b for b in eligible if b.hour in after_hours]
        )
        if all(sum(b.exposure for b in bins) >= MIN_HOURS for bins in (candidate.before, candidate.after)):
            controls.append(candidate)
            tenures.append(other.tenure)
    watched = {b.hour for c in controls for b in (*c.before, *c.after)}
    matched = Stratum([b for b in stratum.before if b.hour in watched], [b for b in stratum.after if b.hour in watched])
    return matched, controls, tenures


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def _verdict(estimate: Estimate, milestone: Milestone, *, controlled: bool) -> str:
    if estimate.low > 1:
        change = "a rise"
    elif estimate.high < 1:
        change = "a fall"
    else:
        return "no change distinguishable from chance" + (" or the controls' trend" if controlled else "")
    cause = milestone.phrase.replace("first ", "being ")
    return f"{change} attributable to {cause}" if controlled else f"{change} (not controlled for the background trend)"


def _ci(estimate: Estimate) -> str:
    return f"{_fmt(estimate.ratio)}x the {{noun}} per hour (95% CI {_fmt(estimate.low)}-{_fmt(estimate.high)})"


def read(c: Comparison) -> str:
    """The comparison in one plain sentence."""
    if c.scope is Scope.EXPERIMENT:
        return _experiment_reading(c)
    who = f"honeypot {c.subject}" if c.scope in (Scope.HONEYPOT, Scope.CONTROLLED) else f"{c.subject} pooled"
    opening = f"After {c.milestone.phrase}, {who}"
    if c.estimate is None:
        return f"{opening}: insufficient data ({c.reason})."
    noun = c.metric.noun
    if c.scope in (Scope.HONEYPOT, Scope.POOLED):
        return (
            f"{opening} received {_ci(c.estimate).format(noun=noun)}: "
            f"{_verdict(c.estimate, c.milestone, controlled=False)}."
        )
    return (
        f"{opening} received {_fmt(c.treated_ratio or math.nan)}x the {noun} per hour over the hours controls were "
        f"watched; controls over the same hours {_fmt(c.control_ratio or math.nan)}x; controlled ratio "
        f"{_ci(c.estimate).format(noun=noun).replace(' the ' + noun + ' per hour', '')}: "
        f"{_verdict(c.estimate, c.milestone, controlled=True)}."
    )


def _experiment_reading(c: Comparison) -> str:
    treated, controls = c.after, c.control_after
    arms = f"the treatment tenures ({treated.bins if treated else 0}, scan requested)"
    opening = f"From assignment (intention to treat), {arms}"
    if c.estimate is None:
        return f"{opening} against the control tenures: insufficient data ({c.reason})."
    if c.estimate.low > 1:
        verdict = "a rise caused by requesting the scan (the arms were drawn at random)"
    elif c.estimate.high < 1:
        verdict = "a fall caused by requesting the scan (the arms were drawn at random)"
    else:
        verdict = "no difference distinguishable from chance"
    return (
        f"{opening} received {_ci(c.estimate).format(noun=c.metric.noun)} of the control tenures "
        f"({controls.bins if controls else 0}): {verdict}."
    )


def _result(template: Comparison, build: Callable[[], Comparison]) -> Comparison:
    """``build()``'s comparison, or ``template`` saying why there is none; with its reading."""
    try:
        found = build()
    except Insufficient as why:
        found = replace(template, status=Status.INSUFFICIENT_DATA, reason=str(why))
    return replace(found, reading=read(found))


@dataclass
class _Pool:
    """What the pooled comparisons gather from the per-honeypot ones."""

    strata: list[Stratum] = field(default_factory=list)
    treated: list[Stratum] = field(default_factory=list)
    controls: list[Stratum] = field(default_factory=list)
    control_uses: dict[Tenure, int] = field(default_factory=dict)


def _honeypot(template: Comparison, stratum: Stratum, pool: _Pool) -> Comparison:
    _check_hours(stratum, _context(template.milestone))
    pool.strata.append(stratum)  # pooled even when its own ratio is not finite (MH takes zeros)
    log_rr, variance, phi, df = ratio_estimate([stratum], template.metric)
    return replace(template, status=Status.ESTIMATED, estimate=Estimate(*interval(log_rr, variance, df), phi, df))


def _controlled(
    template: Comparison, subject: Subject, stratum: Stratum, subjects: Sequence[Subject], pool: _Pool
) -> Comparison:
    metric, phrase = template.metric, _context(template.milestone)
    _check_hours(stratum, phrase)
    matched, controls, control_tenures = _control_strata(subject, stratum, subjects)
    if not controls:
        raise Insufficient(f"no other honeypot was watched un-indexed for {MIN_HOURS:g} h on each side")
    _check_hours(matched, phrase + " in the hours controls were watched")
    log_t, var_t, phi_t, df_t = ratio_estimate([matched], metric)
    log_c, var_c, phi_c, df_c = ratio_estimate(controls, metric)
    df = min(df_t, df_c)
    pool.treated.append(matched)
    pool.controls.extend(controls)
    for tenure in control_tenures:
        pool.control_uses[tenure] = pool.control_uses.get(tenure, 0) + 1
    before, after = matched.sides(metric)
    control_sides = [c.sides(metric) for c in controls]
    return replace(
        template,
        status=Status.ESTIMATED,
        before=before,
        after=after,
        estimate=Estimate(*interval(log_t - log_c, var_t + var_c, df), max(phi_t, phi_c), df),
        control_before=_sum_sides(b for b, _ in control_sides),
        control_after=_sum_sides(a for _, a in control_sides),
        control_ratio=math.exp(log_c),
        treated_ratio=math.exp(log_t),
        units=len(controls),
    )


def _pooled(template: Comparison, pool: _Pool) -> Comparison:
    if len(pool.strata) < 2:
        raise Insufficient(f"pooling needs 2 honeypots with {MIN_HOURS:g} h on each side; {len(pool.strata)} had")
    log_rr, variance, phi, df = ratio_estimate(pool.strata, template.metric)
    return replace(template, status=Status.ESTIMATED, estimate=Estimate(*interval(log_rr, variance, df), phi, df))


def _pooled_controlled(template: Comparison, pool: _Pool) -> Comparison:
    if len(pool.treated) < 2:
        raise Insufficient(f"pooling needs 2 honeypots with a controlled ratio; {len(pool.treated)} had")
    log_t, var_t, phi_t, df_t = ratio_estimate(pool.treated, template.metric)
    log_c, var_c, phi_c, df_c = ratio_estimate(pool.controls, template.metric)
    reuse = max(pool.control_uses.values())  # a control serving k honeypots: its variance taken k times
    df = min(df_t, df_c)
    return replace(
        template,
        status=Status.ESTIMATED,
        estimate=Estimate(*interval(log_t - log_c, var_t + reuse * var_c, df), max(phi_t, phi_c), df),
        control_ratio=math.exp(log_c),
        treated_ratio=math.exp(log_t),
    )


def _honeypots(count: int) -> str:
    return f"{count} honeypot" + ("" if count == 1 else "s")


def _totals(strata: Sequence[Stratum], metric: Metric) -> tuple[Side, Side]:
    sides = [s.sides(metric) for s in strata]
    return _sum_sides(b for b, _ in sides), _sum_sides(a for _, a in sides)


def compare(subjects: Sequence[Subject], milestone: Milestone, metric: Metric = Metric.SESSIONS) -> list[Comparison]:
    """Every comparison at ``milestone``: per honeypot and controlled per honeypot (for each
    tenure that reached it), then pooled and pooled controlled. Tenures without the milestone
    are not compared; they (and the others, before their own first indexed) serve as controls."""
    results: list[Comparison] = []
    pool = _Pool()
    for subject in subjects:
        stratum = states(subject.tenure, milestone, subject.series)
        if stratum is None:
            continue
        before, after = stratum.sides(metric)
        own = Comparison(
            milestone, Scope.HONEYPOT, subject.tenure.label, metric, Status.ESTIMATED, before=before, after=after
        )
        results.append(_result(own, partial(_honeypot, own, stratum, pool)))
        controlled = replace(own, scope=Scope.CONTROLLED)
        results.append(
            _result(
                controlled,
                partial(_controlled, controlled, subject, stratum, subjects, pool),
            )
        )
    pooled_before, pooled_after = _totals(pool.strata, metric)
    pooled = Comparison(
        milestone,
        Scope.POOLED,
        _honeypots(len(pool.strata)),
        metric,
        Status.ESTIMATED,
        before=pooled_before,
        after=pooled_after,
        units=len(pool.strata),
    )
    results.append(_result(pooled, lambda: _pooled(pooled, pool)))
    treated_before, treated_after = _totals(pool.treated, metric)
    control_before, control_after = _totals(pool.controls, metric)
    pooled_controlled = Comparison(
        milestone,
        Scope.POOLED_CONTROLLED,
        _honeypots(len(pool.treated)),
        metric,
        Status.ESTIMATED,
        before=treated_before,
        after=treated_after,
        control_before=control_before,
        control_after=control_after,
        units=len(pool.treated),
    )
    results.append(_result(pooled_controlled, lambda: _pooled_controlled(pooled_controlled, pool)))
    return results


# -- the experiment ---------------------------------------------------------------------------
MIN_TENURES_PER_ARM = 2


def _tenure_unit(subject: Subject, assigned: datetime) -> HourCounts | None:
    """A tenure's hours from its assignment on (the hour holding it left out), as one unit:
    its counts over its exposure hours; None if it was not watched after assignment."""
    after = split(subject.series, assigned).after
    if not after:
        return None
    return HourCounts(
        hour=after[0].hour,
        exposure=sum(b.exposure for b in after),
        events=sum(b.events for b in after),
        sessions=sum(b.sessions for b in after),
        sources=sum(b.sources for b in after),  # summed per hour: a source on two hours counts twice
    )


def _experiment(template: Comparison, units: Mapping[Arm, Sequence[HourCounts]]) -> Comparison:
    control, treatment = units[Arm.CONTROL], units[Arm.TREATMENT]
    for arm, found in ((Arm.TREATMENT, treatment), (Arm.CONTROL, control)):
        if len(found) < MIN_TENURES_PER_ARM:
            raise Insufficient(f"{len(found)} {arm} tenure(s) watched after assignment; {MIN_TENURES_PER_ARM} needed")
        hours = sum(u.exposure for u in found)
        if hours < MIN_HOURS:
            raise Insufficient(f"{hours:.1f} h watched in the {arm} arm; {MIN_HOURS:g} h needed")
    log_rr, variance, phi, df = ratio_estimate([Stratum(control, treatment)], template.metric)
    return replace(template, status=Status.ESTIMATED, estimate=Estimate(*interval(log_rr, variance, df), phi, df))


def experiment(subjects: Sequence[Subject], metric: Metric = Metric.SESSIONS) -> Comparison | None:
    """Treatment vs control from assignment onward (see the module's notes), or None when no
    tenure has an arm (experiment mode was never on)."""
    units: dict[Arm, list[HourCounts]] = {arm: [] for arm in Arm}
    drawn = 0
    for subject in subjects:
        tenure = subject.tenure
        if tenure.arm is None or tenure.assigned is None:
            continue
        drawn += 1
        unit = _tenure_unit(subject, tenure.assigned)
        if unit is not None:
            units[tenure.arm].append(unit)
    if not drawn:
        return None
    template = Comparison(
        Milestone.ASSIGNED,
        Scope.EXPERIMENT,
        f"{len(units[Arm.TREATMENT])} treatment vs {len(units[Arm.CONTROL])} control tenures",
        metric,
        Status.ESTIMATED,
        after=side(units[Arm.TREATMENT], metric),
        control_after=side(units[Arm.CONTROL], metric),
        units=len(units[Arm.TREATMENT]) + len(units[Arm.CONTROL]),
    )
    return _result(template, partial(_experiment, template, units))
