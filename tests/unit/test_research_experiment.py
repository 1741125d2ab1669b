"""The experiment's comparison (experiment mode): treatment vs control tenures, attacks per hour
from assignment onward, the tenure as the unit. It recovers a known effect, covers the truth about
95% of the time when honeypots differ in attractiveness and traffic is bursty, ignores what
happened before assignment, and says why when the data are too few."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ics_honeynet.contracts import Arm
from ics_honeynet.research.model import Milestone, Tenure
from ics_honeynet.research.scenario import poisson
from ics_honeynet.research.stats import HourCounts, Metric, Scope, Status, Subject, experiment, read
from ics_honeynet.research.timeline import timeline

T0 = datetime(2026, 11, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def trial(seed: int, tenures: int = 16, effect: float = 1.0, base: float = 2.0, before_burst: int = 0) -> list[Subject]:
    """``tenures`` honeypots, each drawn into an arm by a fair coin, each with its own
    attractiveness (gamma, mean 1, sd 0.5) and bursty hours (gamma, mean 1, sd 1); the treatment
    multiplies the rate by ``effect`` from the assignment (the first sweep, 3.5 h after the start)."""
    rng = random.Random(seed)
    subjects = []
    for n in range(tenures):
        arm = Arm.TREATMENT if rng.random() < 0.5 else Arm.CONTROL
        started = T0 + timedelta(hours=rng.randrange(0, 48))
        assigned = started + timedelta(hours=3.5)
        attractiveness = rng.gammavariate(4.0, 0.25)
        series = []
        for h in range(rng.randrange(48, 120)):
            hour = started + h * HOUR
            rate = base * attractiveness * rng.gammavariate(1.0, 1.0)
            if hour >= assigned and arm == Arm.TREATMENT:
                rate *= effect
            count = poisson(rng, rate) + (before_burst if hour + HOUR <= assigned else 0)
            series.append(HourCounts(hour, 1.0, events=count * 3, sessions=count, sources=count))
        tenure = Tenure.of(f"192.0.2.{n}", f"arn:aws:ecs:r:1:task/c/{n:08x}", started, arm=arm, assigned=assigned)
        subjects.append(Subject(tenure, series))
    return subjects


def test_a_doubled_rate_in_the_treatment_arm_is_recovered():
    found = experiment(trial(seed=3, tenures=60, effect=2.0))
    assert found is not None and found.status is Status.ESTIMATED and found.estimate is not None
    assert (found.scope, found.milestone) == (Scope.EXPERIMENT, Milestone.ASSIGNED)
    assert found.estimate.low > 1.2 and found.estimate.low <= 2.0 <= found.estimate.high
    assert found.estimate.df == found.units - 2 == 58  # phi from the tenures, not the hours
    assert found.reading.startswith("From assignment (intention to treat), the treatment tenures (")
    assert "a rise caused by requesting the scan (the arms were drawn at random)" in found.reading


def test_with_no_effect_the_interval_covers_one_about_95_percent_of_the_time():
    """Honeypots differ (attractiveness) and hours burst: an interval from hour-level dispersion
    would be far too narrow here; the tenure-level one keeps its coverage."""
    estimated = covered = 0
    for seed in range(300):
        found = experiment(trial(seed))
        if found is not None and found.estimate is not None:
            estimated += 1
            covered += found.estimate.low <= 1.0 <= found.estimate.high
    assert estimated >= 290
    assert 0.91 <= covered / estimated <= 0.99, covered / estimated


def test_what_happened_before_assignment_does_not_count():
    plain = experiment(trial(seed=5))
    burst = experiment(trial(seed=5, before_burst=500))  # a huge burst in every tenure before its draw
    assert plain is not None and burst is not None and plain.estimate == burst.estimate
    assert plain.after == burst.after and plain.control_after == burst.control_after


def test_too_few_tenures_or_no_attack_in_an_arm_is_insufficient_data():
    few = experiment(trial(seed=1, tenures=3))
    assert few is not None and few.status is Status.INSUFFICIENT_DATA and few.estimate is None
    assert "needed" in (few.reason or "") and "insufficient data" in few.reading
    quiet = experiment(trial(seed=2, tenures=12, effect=0.0))  # treatment arm silent after assignment
    assert quiet is not None and quiet.reason == "no finite ratio: no attacks on one side"
    assert read(quiet) == quiet.reading


def test_without_arms_there_is_no_experiment():
    subjects = [Subject(Tenure.of("192.0.2.1", "t/1", T0), [HourCounts(T0, 1.0, sessions=3)])]
    assert experiment(subjects) is None


def test_the_assignment_is_a_milestone_of_the_tenures_timeline():
    [subject] = trial(seed=4, tenures=1)
    marks = timeline(subject.tenure, {}, lambda _ip: None, T0 + timedelta(days=30))
    assert [(m.milestone, m.detail) for m in marks] == [
        (Milestone.STARTED, None),
        (Milestone.ASSIGNED, str(subject.tenure.arm)),
    ]


def test_metrics_other_than_sessions_are_compared_too():
    found = experiment(trial(seed=3, tenures=40, effect=2.0), Metric.EVENTS)
    assert found is not None and found.metric is Metric.EVENTS and "events per hour" in found.reading


def test_hour_level_dispersion_would_be_falsely_narrow_here():
    """Why the tenure is the unit: the same data with each hour as an observation."""
    from ics_honeynet.research.stats import Stratum, interval, ratio_estimate, split

    covered = 0
    for seed in range(100):
        subjects = trial(seed)
        arms = {
            arm: [b for s in subjects if s.tenure.arm is arm for b in split(s.series, s.tenure.assigned).after]
            for arm in Arm
        }
        log_rr, variance, _phi, df = ratio_estimate([Stratum(arms[Arm.CONTROL], arms[Arm.TREATMENT])], Metric.SESSIONS)
        _ratio, low, high = interval(log_rr, variance, df)
        covered += low <= 1.0 <= high
    assert covered < 70  # far below 95


def test_the_report_carries_the_arms_and_the_experiments_row():
    from ics_honeynet.research.report import report_from_events

    subjects = trial(seed=6, tenures=8)
    report = report_from_events(
        [], [s.tenure for s in subjects], since=T0, until=T0 + timedelta(days=8), resolver=lambda _ip: None
    )
    document = report.to_json()
    assert {h["arm"] for h in document["honeypots"]} == {Arm.TREATMENT, Arm.CONTROL}
    [row] = [c for c in document["comparisons"] if c["scope"] == Scope.EXPERIMENT]
    assert row["milestone"] == Milestone.ASSIGNED and row["status"] == Status.INSUFFICIENT_DATA  # no event at all
    assert row["units"] == 8 and row["reading"].startswith("From assignment (intention to treat)")
    assert next(r for r in report.csv_rows() if r["scope"] == Scope.EXPERIMENT)["reason"] == row["reason"]
