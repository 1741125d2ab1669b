"""One IP's history folded forward (exposure_history): each kind of result and rotation, the
history and the change compared whole."""

from __future__ import annotations

from ics_honeynet.contracts import Arm
from ics_honeynet.exposure_history import Change, IpHistory, TenureRecord, record_check, record_rotation

IP, TASK = "192.0.2.1", "arn:task/a"
STARTED, T0, T1 = "2026-11-24T10:00:00+00:00", "2026-11-25T01:00:00+00:00", "2026-11-25T13:00:00+00:00"


def result(verdict: str, **extra: object) -> dict:
    return {"ip": IP, "taskArn": TASK, "startedAt": STARTED, "verdict": verdict, **extra}


def test_a_first_indexed_check():
    history, changes = record_check(None, result("INDEXED", honeyscoreStatus="SCORED"), checked_at=T0, execution="s0")
    assert history == IpHistory(ip=IP, task_arn=TASK, first_seen_running=STARTED, first_indexed=T0, last_checked=T0,
                                last_verdict="INDEXED", last_honeyscore_status="SCORED", updated_by="s0")  # fmt: skip
    assert changes == [Change("NEWLY_INDEXED", IP, {"lastChecked": T0, "taskArn": TASK, "verdict": "INDEXED"})]


def test_straight_to_fingerprinted_is_one_change_and_both_firsts():
    history, changes = record_check(None, result("FINGERPRINTED"), checked_at=T0, execution="s0")
    assert (history.first_indexed, history.first_fingerprinted, history.last_honeyscore_status) == (T0, T0, None)
    assert changes == [
        Change("NEWLY_FINGERPRINTED", IP, {"lastChecked": T0, "taskArn": TASK, "verdict": "FINGERPRINTED"})
    ]
    again, changes = record_check(history, result("FINGERPRINTED"), checked_at=T1, execution="s1")
    assert changes == [] and again == IpHistory(
        ip=IP, task_arn=TASK, first_seen_running=STARTED, first_indexed=T0, first_fingerprinted=T0, last_checked=T1,
        last_verdict="FINGERPRINTED", updated_by="s1")  # fmt: skip


def test_a_failing_check_is_news_once_and_keeps_the_last_verdict():
    indexed, _ = record_check(None, result("INDEXED"), checked_at=T0, execution="s0")
    failing, changes = record_check(indexed, result("ERROR", error="ShodanUnavailableError", cause="HTTP 503"),
                                    checked_at=T1, execution="s1")  # fmt: skip
    unavailable = "ShodanUnavailableError"
    assert failing == IpHistory(ip=IP, task_arn=TASK, first_seen_running=STARTED, first_indexed=T0, last_checked=T1,
                                last_verdict="INDEXED", last_error=unavailable, updated_by="s1")  # fmt: skip
    assert changes == [Change("CHECK_FAILING", IP, {"lastChecked": T1, "taskArn": TASK, "error": unavailable,
                                                     "cause": "HTTP 503"})]  # fmt: skip
    still, changes = record_check(failing, result("ERROR"), checked_at=T1, execution="s2")
    assert changes == [] and still.last_error == "error" and still.updated_by == "s2"


def test_a_result_without_a_start_or_verdict():
    history, changes = record_check(None, {"ip": IP, "taskArn": None}, checked_at=T0, execution="s0")
    assert history == IpHistory(ip=IP, first_seen_running=T0, last_checked=T0, last_error="error", updated_by="s0")
    assert changes == [Change("CHECK_FAILING", IP, {"lastChecked": T0, "taskArn": None, "error": "error",
                                                     "cause": None})]  # fmt: skip


CHAIN = {"from": IP, "fromTask": TASK, "verdict": "FINGERPRINTED", "to": "203.0.113.2", "toTask": "arn:task/r2",
         "toStartedAt": "2026-11-25T01:03:00+00:00", "toVerdict": "NOT_INDEXED", "via": ["203.0.113.1"],
         "attempts": 2, "status": "ROTATED", "reason": None}  # fmt: skip
DETAIL = {"from": IP, "to": "203.0.113.2", "via": ["203.0.113.1"], "attempts": 2, "reason": None,
          "verdict": "FINGERPRINTED"}  # fmt: skip


def test_a_rotation_moves_the_history_to_the_new_ip():
    histories: dict[str, IpHistory] = {}
    change = record_rotation(histories, CHAIN, checked_at=T1, execution="s1")
    assert change == Change("ROTATED", IP, DETAIL)
    assert histories == {
        IP: IpHistory(ip=IP, task_arn=TASK, replaced_by="203.0.113.2", updated_by="s1"),
        "203.0.113.2": IpHistory(ip="203.0.113.2", task_arn="arn:task/r2", first_seen_running=CHAIN["toStartedAt"],
                                 last_checked=T1, last_verdict="NOT_INDEXED", updated_by="s1"),
    }  # fmt: skip
    # A replacement Shodan could not verify: no verdict recorded; no start known: the sweep's time.
    unverified = CHAIN | {"toVerdict": "ERROR", "toStartedAt": None}
    histories = {}
    record_rotation(histories, unverified, checked_at=T1, execution="s1")
    assert histories["203.0.113.2"] == IpHistory(ip="203.0.113.2", task_arn="arn:task/r2", first_seen_running=T1,
                                                 last_checked=T1, updated_by="s1")  # fmt: skip


def test_a_rotation_onto_a_known_task_keeps_its_tenure():
    known = IpHistory(ip="203.0.113.2", task_arn="arn:task/r2", first_seen_running=T0, rotations=1)
    histories = {"203.0.113.2": known}
    record_rotation(histories, CHAIN, checked_at=T1, execution="s1")
    assert histories["203.0.113.2"] == IpHistory(ip="203.0.113.2", task_arn="arn:task/r2", first_seen_running=T0,
                                                 rotations=1, last_checked=T1, last_verdict="NOT_INDEXED",
                                                 updated_by="s1")  # fmt: skip


def test_a_failed_rotation_changes_no_history():
    for failed in (CHAIN | {"status": "FAILED", "to": None}, CHAIN | {"to": None}, CHAIN | {"status": "FAILED"}):
        histories: dict[str, IpHistory] = {}
        change = record_rotation(histories, failed, checked_at=T1, execution="s1")
        assert change == Change("ROTATION_FAILED", IP, {k: failed[k] for k in DETAIL})
        assert histories == {}


def test_items_leave_out_what_is_unknown_and_read_back_the_same():
    old = TenureRecord(task_arn="arn:task/old", started=STARTED, last_seen=T0)
    history = IpHistory(ip=IP, task_arn=TASK, first_seen_running=T0, rotations=2, past_tenures=(old,))
    item = history.to_item()
    assert item == {"ip": IP, "taskArn": TASK, "firstSeenRunning": T0, "rotations": 2,
                    "pastTenures": [{"taskArn": "arn:task/old", "started": STARTED, "lastSeen": T0}]}  # fmt: skip
    assert IpHistory.from_item(item) == history
    assert IpHistory(ip=IP).to_item() == {"ip": IP, "rotations": 0}
    assert IpHistory.from_item({"ip": IP, "rotations": None}) == IpHistory(ip=IP)  # written by CountRotation only


def test_the_current_tenure_and_its_rotation():
    assert IpHistory(ip=IP, rotations=1, last_rotated_at=T0).current_tenure() is None  # only CountRotation wrote it
    assert IpHistory(ip=IP, task_arn=TASK).current_tenure() == TenureRecord(task_arn=TASK)
    rotated = IpHistory(ip=IP, task_arn=TASK, first_seen_running=T0, last_rotated_at=T0, last_checked=T1)
    assert rotated.current_tenure() == TenureRecord(task_arn=TASK, started=T0, rotated_at=T0, last_seen=T1)
    earlier = IpHistory(ip=IP, task_arn=TASK, first_seen_running=T1, last_rotated_at=T0)
    assert earlier.current_tenure() == TenureRecord(task_arn=TASK, started=T1)  # a rotation of an earlier tenure
    unreadable = IpHistory(ip=IP, task_arn=TASK, first_seen_running="yesterday", last_rotated_at=T0)
    assert unreadable.current_tenure() == TenureRecord(task_arn=TASK, started="yesterday", rotated_at=T0)
    moved = rotated.start_tenure("arn:task/b", T1)
    assert moved == IpHistory(ip=IP, task_arn="arn:task/b", first_seen_running=T1, last_rotated_at=T0,
                              past_tenures=(rotated.current_tenure(),))  # fmt: skip


def test_in_experiment_mode_a_replacements_new_tenure_gets_its_arm_when_the_sweep_saw_it():
    histories: dict[str, IpHistory] = {}
    record_rotation(histories, CHAIN, checked_at=T1, execution="s1", draw=lambda: Arm.TREATMENT)
    new = histories["203.0.113.2"]
    assert (new.arm, new.arm_assigned_at) == (Arm.TREATMENT, T1)
