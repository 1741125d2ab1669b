"""``make report``: a traffic scenario played through the deployed stack over simulated hours, then
the research report run against the stack's outputs as on a laptop.

Everything the report reads got there the deployed way: Conpot's records through the shipper, the
log group, the subscription, Firehose and the research bucket; the milestones written by the
scheduled sweeps into the exposure table when the local Shodan indexed or tagged a honeypot; the
rotation made by the sweep. The scenario files carry the injected effect, so the tests read the
truth from them.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localcloud.handler_patches import ClockPatches, ScaledClock
from localcloud.research import REPORT_SCENARIO, ReportRun, run_report
from localcloud.scenario import load_scenario
from localcloud.traffic import reverse_dns

NULL_SCENARIO = REPORT_SCENARIO.with_name("report-null.yaml")


def _run(scenario: Path, out: Path) -> tuple[ReportRun, dict]:
    done = run_report(scenario, out, stderr=io.StringIO())
    return done, json.loads((out / "research-report.json").read_text())


# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


@pytest.fixture(scope="module")
def threefold(tmp_path_factory) -> tuple[ReportRun, dict]:
    return _run(REPORT_SCENARIO, tmp_path_factory.mktemp("threefold"))


def _comparison(document: dict, scope: str, milestone: str = "first_indexed") -> dict:
    [found] = [c for c in document["comparisons"] if c["scope"] == scope and c["milestone"] == milestone]
    return found


def _milestone(honeypot: dict, name: str) -> datetime | None:
    found = [m["at"] for m in honeypot["milestones"] if m["milestone"] == name]
    return datetime.fromisoformat(found[0]) if found else None


def test_an_injected_threefold_rise_after_indexing_is_recovered_within_the_reports_interval(threefold):
    done, document = threefold
    effect = load_scenario(REPORT_SCENARIO).report.effect_indexed
    assert effect == 3.0 and done.status == 0 and done.failed_sweeps == []
    pooled = _comparison(document, "POOLED_CONTROLLED")
    assert pooled["status"] == "ESTIMATED" and pooled["units"] == 2
    assert 1 < pooled["ciLow"] <= effect <= pooled["ciHigh"], pooled["reading"]
    assert "a rise attributable to being indexed" in pooled["reading"]


def test_every_event_conpot_wrote_is_stored_and_read_by_the_report_across_a_rotation(threefold):
    done, document = threefold
    rotated = [h for h in document["honeypots"] if _milestone(h, "rotated")]
    assert len(rotated) == 1 and len(document["honeypots"]) == 5  # four tasks and the rotation's replacement
    assert done.failures == []
    summary = document["input"]
    assert done.played.events == done.stored_events == summary["parsed"] == summary["attributed"] > 1000
    assert summary["bad"] == 0 and set(summary["unattributed"].values()) == {0}
    written = {life.task.task_arn: life.events for life in done.played.honeypots}
    assert {h["taskArn"]: h["totals"]["events"] for h in document["honeypots"]} == written


def test_the_sweeps_recorded_each_milestone_when_the_local_shodan_made_it(threefold):
    done, document = threefold
    by_task = {h["taskArn"]: h for h in document["honeypots"]}
    sweep_hours = done.played.settings.sweep_every_hours
    for life in done.played.honeypots:
        honeypot = by_task[life.task.task_arn]
        for name, moment in (("first_indexed", life.indexed), ("first_fingerprinted", life.fingerprinted)):
            recorded = _milestone(honeypot, name)
            if moment is None:
                assert recorded is None
            else:  # the sweep scheduled at that hour saw it
                assert recorded is not None and moment <= recorded < moment + timedelta(hours=sweep_hours)
        if life.crawler_visit is not None:  # Shodan's crawler came before indexing: a scanner contact
            first_scanner = _milestone(honeypot, "first_scanner_contact")
            assert first_scanner is not None and first_scanner <= life.crawler_visit
    [rotated] = [life for life in done.played.honeypots if not life.task.running]  # RotateOn=fingerprinted
    window = (rotated.fingerprinted, rotated.fingerprinted + timedelta(hours=sweep_hours))
    recorded = _milestone(by_task[rotated.task.task_arn], "rotated")
    assert recorded is not None and window[0] <= recorded < window[1]
    assert rotated.task.stopped_at is not None and window[0] <= rotated.task.stopped_at < window[1]


def test_the_chart_and_the_csv_are_written(threefold):
    done, document = threefold
    png = (done.out / "research-report.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 50_000
    rows = (done.out / "research-report.csv").read_text().splitlines()
    assert len(rows) == 1 + len(document["comparisons"])


def test_a_null_scenarios_interval_holds_one(tmp_path):
    done, document = _run(NULL_SCENARIO, tmp_path)
    assert load_scenario(NULL_SCENARIO).report.effect_indexed == 1.0 and done.failures == []
    pooled = _comparison(document, "POOLED_CONTROLLED")
    assert pooled["status"] == "ESTIMATED"
    assert pooled["ciLow"] <= 1 <= pooled["ciHigh"], pooled["reading"]
    assert "no change distinguishable from chance" in pooled["reading"]


# -- the simulated wall clock and the local reverse DNS -------------------------------------------
def test_a_handlers_datetime_reads_the_scaled_clock_which_jumps_forward_only():
    import types

    module = types.ModuleType("handler_module")
    exec("from datetime import UTC, datetime\ndef now():\n    return datetime.now(UTC)", module.__dict__)
    clock = ScaledClock(0.01)
    patches = ClockPatches(clock, wall=True)
    patches.apply([module])
    later = datetime.now(UTC) + timedelta(days=2)
    clock.advance_to(later)
    assert module.now() >= later and module.now() - later < timedelta(minutes=5)
    assert isinstance(datetime(2026, 1, 1, tzinfo=UTC), module.datetime)  # botocore's datetimes still qualify
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    patches.restore()
    assert abs(module.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_local_reverse_dns_names_the_scenarios_scanners_and_no_one_else():
    from ics_honeynet.research.timeline import system_resolver

    with reverse_dns({"71.6.135.131": "census7.shodan.io"}):
        assert system_resolver("71.6.135.131") == "census7.shodan.io"
        assert system_resolver("203.0.113.9") is None


def test_make_report_also_runs_the_scheduled_report_function_on_the_same_stack(threefold):
    done, document = threefold
    assert done.scheduled is not None and done.scheduled.succeeded and done.weekly_email is not None
    pooled = _comparison(document, "POOLED_CONTROLLED")
    assert f"{pooled['ratio']:.2g}x attacks after first indexed" in done.weekly_email.subject
