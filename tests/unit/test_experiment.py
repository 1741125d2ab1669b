"""Experiment mode's assignment: each new tenure of ours gets an arm once, by a fair and
unpredictable draw, kept with the tenure; the treatment tenures holding their IP are the scans
to request, until one is claimed."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.contracts import Arm
from ics_honeynet.experiment import draw_arm, scan_targets
from ics_honeynet.exposure_history import IpHistory, TenureRecord
from ics_honeynet.sweep_report import summarize

T0, T1, T2 = "2026-11-25T01:00:00+00:00", "2026-11-25T13:00:00+00:00", "2026-11-26T01:00:00+00:00"


class CountingDraw:
    """draw_arm, counting its calls: a re-run must not call it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Arm:
        self.calls += 1
        return draw_arm()


def task(ip: str, n: int = 0) -> str:
    return f"arn:aws:ecs:us-east-1:1:task/c/{ip.replace('.', '-')}-{n}"


def result(ip: str, n: int = 0, verdict: str = "NOT_INDEXED") -> dict:
    return {"ip": ip, "taskArn": task(ip, n), "startedAt": T0, "verdict": verdict}


def sweep(results, histories, draw, at=T1, rotation=()):
    return summarize(
        results, histories=histories, draw=draw, rotation=rotation, rotate_on="never", execution="s",
        evidence_bucket="b", checked_at=at,
    )  # fmt: skip


def ips(n: int) -> list[str]:
    return [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(n)]


def within(count: int, n: int, sigmas: float = 5.0) -> bool:
    """``count`` of ``n`` fair coin flips is within ``sigmas`` standard deviations of n/2
    (fails by chance about once in 3.5 million runs)."""
    return abs(count - n / 2) <= sigmas * math.sqrt(n) / 2


def test_the_draw_is_a_fair_coin():
    n = 20_000
    treated = sum(draw_arm() == Arm.TREATMENT for _ in range(n))
    assert within(treated, n)
    # Runs of the same arm are as long as a fair coin's: no alternation, no stickiness.
    arms = [draw_arm() for _ in range(n)]
    changes = sum(a != b for a, b in itertools.pairwise(arms))
    assert within(changes, n - 1)


def test_about_half_of_many_fresh_tenures_are_treated_and_a_rerun_draws_nothing():
    draw = CountingDraw()
    results = [result(ip) for ip in ips(4000)]
    first = sweep(results, {}, draw)
    arms = {ip: h.arm for ip, h in first.histories.items()}
    assert draw.calls == 4000 and set(arms.values()) == {Arm.TREATMENT, Arm.CONTROL}
    assert within(sum(a == Arm.TREATMENT for a in arms.values()), 4000)
    assert all(h.arm_assigned_at == T1 for h in first.histories.values())
    # The scans to request are exactly the treatment tenures.
    assert {s["ip"] for s in first.scans} == {ip for ip, a in arms.items() if a == Arm.TREATMENT}
    assert all(s["taskArn"] == task(s["ip"]) for s in first.scans)
    # The same sweep again (a re-run of SummarizeSweep, or the next sweep): nothing drawn again.
    again = sweep(results, first.histories, draw, at=T2)
    assert draw.calls == 4000
    assert {ip: h.arm for ip, h in again.histories.items()} == arms
    assert all(h.arm_assigned_at == T1 for h in again.histories.values())


def test_the_arm_is_kept_through_the_table_and_archived_with_its_tenure():
    first = sweep([result("192.0.2.1")], {}, lambda: Arm.TREATMENT)
    claimed = replace(first.histories["192.0.2.1"], scan_requested_at=T1, scan_requested_by="s", scan_id="SCAN1")
    stored = IpHistory.from_item(claimed.to_item())
    assert stored == claimed and stored.arm is Arm.TREATMENT
    # A new task on the IP: a new tenure, a new draw; the finished tenure keeps its arm and scan.
    later = sweep([result("192.0.2.1", n=1)], {"192.0.2.1": stored}, lambda: Arm.CONTROL, at=T2)
    history = later.histories["192.0.2.1"]
    assert [(t.task_arn, t.arm, t.scan_id) for t in history.tenures()] == [
        (task("192.0.2.1"), Arm.TREATMENT, "SCAN1"),
        (task("192.0.2.1", 1), Arm.CONTROL, None),
    ]
    assert TenureRecord.from_item(history.past_tenures[0].to_item()) == history.past_tenures[0]
    assert IpHistory.from_item(history.to_item()) == history


def test_a_claimed_scan_is_never_listed_again():
    first = sweep([result("192.0.2.1")], {}, lambda: Arm.TREATMENT)
    assert [s["ip"] for s in first.scans] == ["192.0.2.1"]
    # ClaimScan wrote scanRequestedAt (whatever came of the request after it).
    claimed = {"192.0.2.1": replace(first.histories["192.0.2.1"], scan_requested_at=T1, scan_error="X")}
    assert sweep([result("192.0.2.1")], claimed, lambda: Arm.TREATMENT, at=T2).scans == []


def test_a_treatment_tenure_not_claimed_by_its_sweep_is_listed_by_the_next():
    first = sweep([result("192.0.2.1")], {}, lambda: Arm.TREATMENT)
    nothing_drawn = CountingDraw()
    later = sweep([result("192.0.2.1")], first.histories, nothing_drawn, at=T2)
    assert [s["ip"] for s in later.scans] == ["192.0.2.1"] and nothing_drawn.calls == 0


def test_extra_ips_get_no_arm_and_no_scan():
    extra = {"ip": "198.51.100.9", "taskArn": None, "startedAt": None, "verdict": "INDEXED"}
    summary = sweep([extra], {}, lambda: Arm.TREATMENT)
    assert summary.histories["198.51.100.9"].arm is None and summary.scans == []


def test_experiment_off_draws_nothing_and_requests_nothing():
    summary = sweep([result("192.0.2.1")], {}, None)
    assert summary.histories["192.0.2.1"].arm is None and summary.scans == []
    assert summary.record["experiment"] is None
    # Switched off after a tenure was treated: its scan is not requested any more.
    treated = sweep([result("192.0.2.1")], {}, lambda: Arm.TREATMENT).histories
    assert sweep([result("192.0.2.1")], treated, None, at=T2).scans == []


def test_an_unreadable_table_draws_nothing():
    draw = CountingDraw()
    summary = summarize(
        [result("192.0.2.1")], histories=None, history_error="reading t: X", draw=draw, rotate_on="never",
        execution="s", evidence_bucket="b", checked_at=T1,
    )  # fmt: skip
    assert draw.calls == 0 and summary.scans == [] and summary.histories["192.0.2.1"].arm is None


def test_a_rotation_replacement_is_a_fresh_tenure_and_the_rotated_ip_is_not_scanned():
    first = sweep([result("192.0.2.1", verdict="FINGERPRINTED")], {}, lambda: Arm.TREATMENT)
    chain = {"from": "192.0.2.1", "fromTask": task("192.0.2.1"), "status": "ROTATED", "to": "203.0.113.5",
             "toTask": task("203.0.113.5"), "toStartedAt": T2, "toVerdict": "NOT_INDEXED"}  # fmt: skip
    later = sweep([result("192.0.2.1", verdict="FINGERPRINTED")], first.histories, lambda: Arm.TREATMENT, at=T2,
                  rotation=[chain])  # fmt: skip
    assert later.histories["203.0.113.5"].arm is Arm.TREATMENT
    assert [s["ip"] for s in later.scans] == ["203.0.113.5"]  # not the IP the honeypot left


def test_scan_targets_are_only_unclaimed_treatment_tenures_of_ours():
    histories = [
        IpHistory(ip="192.0.2.3", task_arn="t/3", arm=Arm.TREATMENT),
        IpHistory(ip="192.0.2.1", task_arn="t/1", arm=Arm.CONTROL),
        IpHistory(ip="192.0.2.2", task_arn="t/2", arm=Arm.TREATMENT, scan_requested_at=T1),
        IpHistory(ip="192.0.2.4", task_arn=None, arm=Arm.TREATMENT),
        IpHistory(ip="192.0.2.5", task_arn="t/5"),
    ]
    assert scan_targets(histories) == [{"ip": "192.0.2.3", "taskArn": "t/3"}]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3), st.booleans()), min_size=1, max_size=30))
def test_each_tenure_is_drawn_exactly_once_whatever_the_sweeps(steps):
    """Sweeps in any order: an IP (0-4) held by some task (0-3), re-run or not. Every tenure of
    ours - a task newly holding an IP - is drawn once, and its arm never changes while it lasts."""
    draw = CountingDraw()
    histories: dict[str, IpHistory] = {}
    holder: dict[str, int] = {}
    tenure_of: dict[str, int] = {}  # ip -> its current tenure's number
    tenures = 0
    arms: dict[int, Arm | None] = {}
    for ip_n, task_n, rerun in steps:
        ip = f"192.0.2.{ip_n}"
        if holder.get(ip) != task_n:
            tenures += 1
            holder[ip], tenure_of[ip] = task_n, tenures
        for _ in range(2 if rerun else 1):
            histories |= sweep([result(ip, task_n)], histories, draw).histories
            arm = histories[ip].arm
            assert arm is not None and arms.setdefault(tenure_of[ip], arm) == arm
    assert draw.calls == tenures
