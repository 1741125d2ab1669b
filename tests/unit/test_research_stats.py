"""The statistics recover a known effect, cover the truth about 95% of the time under the null
(with bursty traffic and a shared background trend), and say "insufficient data" with a reason
instead of inventing a number."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ics_honeynet.research import scenario
from ics_honeynet.research.model import Milestone, Tenure
from ics_honeynet.research.report import report_from_events
from ics_honeynet.research.stats import (
    MIN_HOURS,
    Comparison,
    HourCounts,
    Metric,
    Scope,
    Status,
    Subject,
    compare,
    t_quantile,
)


def comparisons(spec: scenario.Spec, seed: int) -> list[Comparison]:
    s = scenario.generate(spec, seed)
    return list(report_from_events(s.events, s.tenures, since=s.since, until=s.until, resolver=s.resolver).comparisons)


def only(found: list[Comparison], scope: Scope, milestone: Milestone = Milestone.FIRST_INDEXED) -> list[Comparison]:
    return [c for c in found if c.scope is scope and c.milestone is milestone]


def test_an_injected_threefold_rise_is_recovered_against_a_moving_background():
    found = comparisons(scenario.default_spec(effect_indexed=3.0), seed=7)
    [pooled] = only(found, Scope.POOLED_CONTROLLED)
    assert pooled.status is Status.ESTIMATED and pooled.estimate is not None
    assert pooled.estimate.low <= 3.0 <= pooled.estimate.high
    assert pooled.estimate.low > 1.5  # excludes 1 by a margin
    assert "a rise attributable to being indexed" in pooled.reading
    controlled = only(found, Scope.CONTROLLED)
    assert len(controlled) == 4 and all(c.estimate and c.estimate.low > 1 for c in controlled)
    assert sum(c.estimate.low <= 3.0 <= c.estimate.high for c in controlled if c.estimate) >= 3
    assert all(c.reading.startswith(f"After first indexed, honeypot {c.subject} received ") for c in controlled)


def _coverage(spec: scenario.Spec, seeds: range) -> dict[Scope, tuple[float, int]]:
    """Per scope: the share of estimated intervals that hold 1, and how many there were."""
    covered = dict.fromkeys(Scope, 0)
    total = dict.fromkeys(Scope, 0)
    for seed in seeds:
        for c in comparisons(spec, seed):
            if c.estimate is not None:
                total[c.scope] += 1
                covered[c.scope] += c.estimate.low <= 1.0 <= c.estimate.high
    return {scope: (covered[scope] / total[scope] if total[scope] else math.nan, total[scope]) for scope in Scope}


NULL = {"effect_indexed": 1.0, "records_per_session": 1, "burst_shape": 2.0}


def test_null_intervals_cover_one_about_95_percent_of_the_time():
    flat = scenario.default_spec(**NULL, daily_amplitude=0.0, campaign_sd=0.0)
    rate, total = _coverage(flat, range(50))[Scope.HONEYPOT]
    assert total >= 200
    assert 0.89 <= rate <= 0.99, f"coverage {rate:.3f} over {total} intervals"


def test_controls_keep_the_coverage_when_the_background_moves():
    # A shared daily cycle and day-to-day campaigns: the honeypot's own before/after ratio is no
    # longer 1 in truth, so its interval misses 1 often; the controlled one must not.
    moving = scenario.default_spec(**NULL, daily_amplitude=0.4, campaign_sd=0.4)
    found = _coverage(moving, range(30))
    (controlled, total), (uncontrolled, _) = found[Scope.CONTROLLED], found[Scope.HONEYPOT]
    assert total >= 100
    assert 0.89 <= controlled <= 0.99, f"controlled coverage {controlled:.3f}"
    assert uncontrolled < controlled - 0.1, f"uncontrolled {uncontrolled:.3f} vs controlled {controlled:.3f}"


def test_bursty_traffic_widens_the_interval_beyond_poisson():
    bursty = only(comparisons(scenario.default_spec(burst_shape=0.7), seed=3), Scope.HONEYPOT)
    for c in bursty:
        assert c.estimate is not None and c.before is not None and c.after is not None
        poisson_half = t_quantile(0.975, c.estimate.df) * math.sqrt(1 / c.before.count + 1 / c.after.count)
        assert c.estimate.dispersion > 2
        assert math.log(c.estimate.high / c.estimate.ratio) > 1.4 * poisson_half


@pytest.mark.parametrize(("df", "exact"), [(3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (math.inf, 1.960)])
def test_t_quantiles(df, exact):
    assert t_quantile(0.975, df) == pytest.approx(exact, abs=0.004)


START = datetime(2026, 3, 2, tzinfo=UTC)


def subject(ip: str, counts: list[int], indexed_at: int | None) -> Subject:
    tenure = Tenure(
        ip, f"task/{ip}", START, first_indexed=None if indexed_at is None else START + timedelta(hours=indexed_at)
    )
    series = [
        HourCounts(START + timedelta(hours=h), 1.0, sessions=n, events=n, sources=n) for h, n in enumerate(counts)
    ]
    return Subject(tenure, series)


def reasons(found: list[Comparison]) -> dict[Scope, str | None]:
    return {c.scope: c.reason for c in found if c.status is Status.INSUFFICIENT_DATA}


def test_too_few_hours_after_the_milestone_is_insufficient_data():
    # Rotated (ended) 2 h after indexing: no rate after it can be trusted.
    found = compare(
        [subject("198.51.100.1", [5] * 12, indexed_at=10), subject("198.51.100.2", [5] * 12, None)],
        Milestone.FIRST_INDEXED,
    )
    why = reasons(found)
    assert f"2.0 h watched after first indexed (until first fingerprinted); {MIN_HOURS:g} h needed" in (
        why[Scope.HONEYPOT] or ""
    )
    assert all(c.estimate is None and c.reading.endswith(").") for c in found)
    assert "pooling needs 2 honeypots" in (why[Scope.POOLED] or "")


def test_no_attack_before_the_milestone_is_no_finite_ratio():
    found = compare([subject("198.51.100.1", [0] * 12 + [7] * 12, indexed_at=12)], Milestone.FIRST_INDEXED)
    [own] = [c for c in found if c.scope is Scope.HONEYPOT]
    assert own.status is Status.INSUFFICIENT_DATA and "no attacks on one side" in (own.reason or "")
    assert own.before is not None and own.after is not None and (own.before.count, own.after.count) == (0, 84)
    assert "no other honeypot was watched un-indexed" in (reasons(found)[Scope.CONTROLLED] or "")


def test_controls_indexed_early_are_not_controls():
    control = subject("198.51.100.2", [5] * 24, indexed_at=2)  # indexed before the treated one's hours
    found = compare([subject("198.51.100.1", [5] * 12 + [15] * 12, indexed_at=12), control], Milestone.FIRST_INDEXED)
    mine = [c for c in found if c.subject.startswith("198.51.100.1 ")]
    assert "no other honeypot was watched un-indexed" in (reasons(mine)[Scope.CONTROLLED] or "")
    [own] = [c for c in mine if c.scope is Scope.HONEYPOT]
    assert own.estimate is not None and own.estimate.ratio == pytest.approx(3.0)


def test_a_clean_control_turns_a_shared_rise_into_no_effect():
    treated = subject("198.51.100.1", [5] * 12 + [15] * 12, indexed_at=12)
    control = subject("198.51.100.2", [4] * 12 + [12] * 12, indexed_at=None)  # the same rise, never indexed
    [controlled] = [c for c in compare([treated, control], Milestone.FIRST_INDEXED) if c.scope is Scope.CONTROLLED]
    assert controlled.estimate is not None and controlled.control_ratio == pytest.approx(3.0)
    assert controlled.estimate.ratio == pytest.approx(1.0) and controlled.estimate.low < 1 < controlled.estimate.high
    assert "no change distinguishable from chance or the controls' trend" in controlled.reading


def test_metrics_count_different_things():
    s = subject("198.51.100.1", [3] * 24, indexed_at=12)
    hour = s.series[0]
    assert [hour.count(m) for m in Metric] == [3, 3, 3]
    assert Metric.SESSIONS.noun == "attacks"
