"""The laptop path end to end: a synthetic scenario written as the bucket lays events out,
read back with progress, reported, written as JSON, CSV and a chart."""

from __future__ import annotations

import csv
import gzip
import json
import struct
from datetime import timedelta

import pytest

from ics_honeynet.research import files, scenario
from ics_honeynet.research.model import Milestone, Progress
from ics_honeynet.research.report import CSV_COLUMNS, run_report, write_outputs
from ics_honeynet.research.stats import Scope, Status

# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


@pytest.fixture(scope="module")
def synthetic() -> scenario.Scenario:
    return scenario.generate(scenario.default_spec(bad_lines=4), seed=11)


def test_events_read_from_the_bucket_layout_make_the_report(synthetic, tmp_path):
    written = synthetic.write_event_files(tmp_path)
    assert written[0].relative_to(tmp_path).as_posix() == "events/conpot/year=2026/month=03/day=02/conpot.json.gz"
    seen: list[Progress] = []
    lines = files.read_lines(tmp_path, since=synthetic.since, until=synthetic.until, progress=seen.append)
    report = run_report(lines, synthetic.tenures, since=synthetic.since, until=synthetic.until,
                        resolver=synthetic.resolver, progress=seen.append)  # fmt: skip
    assert [p for p in seen if p.stage == "files"][-1] == Progress("files", len(written), len(written))
    assert seen[-1] == Progress("honeypots", len(synthetic.tenures), len(synthetic.tenures))
    summary = report.input
    assert summary.parsed == len(synthetic.events) and summary.attributed == len(synthetic.events)
    assert summary.bad == 4 and summary.bad_samples[0].reason.startswith("not JSON")
    assert all(b.number > 0 and b.excerpt for b in summary.bad_samples)
    indexed = [h for h in report.honeypots if h.tenure.first_indexed is not None]
    for h in indexed:  # the scenario's crawler visits before indexing, under a Shodan name
        [crawler] = [m for m in h.marks if m.milestone is Milestone.FIRST_SCANNER_CONTACT]
        assert h.tenure.first_indexed - timedelta(hours=3) <= crawler.at < h.tenure.first_indexed
        assert ".shodan.io" in (crawler.detail or "")


def test_only_the_days_of_the_window_are_read(synthetic, tmp_path):
    synthetic.write_event_files(tmp_path)
    (tmp_path / "events/conpot/year=2025/month=01/day=01").mkdir(parents=True)
    (tmp_path / "events/conpot/year=2025/month=01/day=01/old.json").write_text("not even json\n")
    kept = files.event_files(
        tmp_path, since=synthetic.since + timedelta(days=2), until=synthetic.since + timedelta(days=3)
    )
    assert [p.parent.name for p in kept] == ["day=04", "day=05", "day=06"]  # a day of slack after until


def test_a_damaged_gzip_file_is_an_error_naming_it(tmp_path):
    path = files.write_lines(tmp_path, ["{}"] * 1000, scenario.Spec(plans=()).start.date())
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(files.EventFileError, match=r"conpot\.json\.gz"):
        list(files.read_lines(tmp_path))


def test_outputs_json_csv_and_chart(synthetic, tmp_path):
    report = run_report(synthetic.lines(), synthetic.tenures, since=synthetic.since, until=synthetic.until,
                        resolver=synthetic.resolver)  # fmt: skip
    paths = write_outputs(report, tmp_path / "out")
    document = json.loads(paths.json.read_text())
    assert document["input"]["bad"] == 4 and len(document["honeypots"]) == len(synthetic.tenures)
    assert len(document["comparisons"]) == len(report.comparisons)
    pooled = [
        c
        for c in document["comparisons"]
        if c["scope"] == Scope.POOLED_CONTROLLED and c["milestone"] == Milestone.FIRST_INDEXED
    ]
    assert pooled[0]["status"] == Status.ESTIMATED and pooled[0]["ciLow"] < 3.0 < pooled[0]["ciHigh"]
    hours = document["honeypots"][0]["hourly"]
    assert sum(h["sessions"] for h in hours) == sum(sum(h["protocols"].values()) for h in hours) > 0
    with paths.csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(report.comparisons)
    assert all(r["reading"].startswith("After first") for r in rows)
    insufficient = [r for r in rows if r["status"] == Status.INSUFFICIENT_DATA]
    assert insufficient and all(r["ratio"] == "" and r["reason"] for r in insufficient)
    png = paths.png.read_bytes() if paths.png else b""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 1000 and height >= 150 * len(synthetic.tenures)  # a panel per honeypot
    assert _filled_share(paths.png) > 0.05  # the hourly bars are drawn


def _filled_share(path) -> float:
    """The share of the image's pixels in the hourly bars' fill colour (#c6dbef)."""
    from matplotlib.image import imread

    pixels = imread(path)[:, :, :3] * 255
    fill = (abs(pixels[:, :, 0] - 0xC6) < 4) & (abs(pixels[:, :, 1] - 0xDB) < 4) & (abs(pixels[:, :, 2] - 0xEF) < 4)
    return float(fill.mean())


def test_without_matplotlib_the_numbers_are_still_written(synthetic, tmp_path):
    report = run_report([], synthetic.tenures, since=synthetic.since, until=synthetic.until, resolver=lambda ip: None)
    paths = write_outputs(report, tmp_path, chart=False)
    assert paths.png is None and json.loads(paths.json.read_text())["input"]["lines"] == 0
    assert all(c.status is Status.INSUFFICIENT_DATA for c in report.comparisons)  # no events: no numbers invented
    drawn = write_outputs(report, tmp_path / "drawn").png
    assert drawn is not None and _filled_share(drawn) < 0.001  # the bar check above can fail


def test_the_window_must_be_a_window(synthetic):
    with pytest.raises(ValueError, match=r"since .* must be before until"):
        run_report([], synthetic.tenures, since=synthetic.until, until=synthetic.since)


def test_written_files_are_gzip_json_lines(tmp_path, synthetic):
    [first, *_] = synthetic.write_event_files(tmp_path)
    with gzip.open(first, "rt") as handle:
        assert json.loads(handle.readline())["timestamp"].startswith("2026-03-02T")
