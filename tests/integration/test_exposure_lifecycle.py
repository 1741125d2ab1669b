"""Issue "exposure lifecycle": history per IP, change-only alerts, verified rotation."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import boto3
from boto3.dynamodb.types import TypeDeserializer

from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def at(text: str) -> datetime:
    """A time the exposure table holds (ISO 8601 with its zone) as a moment."""
    moment = datetime.fromisoformat(text)
    assert moment.utcoffset() == timedelta(0), f"not UTC: {text}"
    return moment


def history(cloud: LocalCloud, ip: str) -> dict:
    item = (
        boto3.client("dynamodb")
        .get_item(TableName=cloud.stack.output("ExposureTableName"), Key={"ip": {"S": ip}}, ConsistentRead=True)
        .get("Item")
    )
    assert item is not None, f"no exposure history for {ip}"
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def test_two_sweeps_without_change_send_one_email_and_the_history_says_when():
    with LocalCloud() as cloud:
        tasks = {t.slot: t for t in cloud.wait_for_running(3)}
        first_run, first = cloud.sweep()
        second_run, second = cloud.sweep()
        quiet, indexed, burned = (history(cloud, tasks[slot].ip) for slot in (0, 1, 2))
        record = cloud.evidence(f"sweeps/{second_run.name}.json")
    assert first_run.status == second_run.status == "SUCCEEDED"
    assert len(first.emails) == 1 and second.emails == []
    assert record["changes"] == [] and record["checked"] == 3  # still recorded in full
    assert quiet["lastVerdict"] == "NOT_INDEXED" and "firstIndexed" not in quiet
    assert indexed["lastVerdict"] == "INDEXED" and "firstFingerprinted" not in indexed
    assert burned["lastVerdict"] == "FINGERPRINTED" and burned["firstFingerprinted"] == burned["firstIndexed"]
    for item, task in ((quiet, tasks[0]), (indexed, tasks[1]), (burned, tasks[2])):
        assert item["taskArn"] == task.task_arn and item["updatedBy"] == second_run.name
        # ECS reports startedAt to the millisecond.
        assert abs(datetime.fromisoformat(item["firstSeenRunning"]) - task.started_at) < timedelta(milliseconds=1)
        assert at(item["lastChecked"]) > first_run.started
    # First indexed in the first sweep, not moved by the second (boto3 gives the executions' start
    # in the machine's zone, the history is UTC: compared as moments, not as text).
    assert at(indexed["firstIndexed"]) < second_run.started < at(indexed["lastChecked"])


def test_a_newly_fingerprinted_ip_rotates_to_a_verified_new_ip_and_the_history_follows():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        cloud.wait_for_running(3)
        run, report = cloud.sweep()
        [rotation] = report.rotated
        new_ip_lookups = cloud.shodan.requests(rotation["to"])
        old, new = history(cloud, rotation["from"]), history(cloud, rotation["to"])
        again_run, again = cloud.sweep()
    assert run.status == again_run.status == "SUCCEEDED"
    assert rotation["status"] == "ROTATED" and rotation["attempts"] == 1
    # The replacement's IP is checked on Shodan within the same sweep: one lookup, not indexed.
    assert [(r.path, r.status) for r in new_ip_lookups] == [(f"/shodan/host/{rotation['to']}", 404)]
    assert old["rotations"] == 1 and old["replacedBy"] == rotation["to"]
    assert run.started <= at(old["lastRotatedAt"]) <= run.stopped
    assert new["lastVerdict"] == "NOT_INDEXED" and new["updatedBy"] == run.name
    assert again.emails == [] and again.rotated == []  # the new IP is clean: nothing changed


def test_a_stale_honeypot_tag_does_not_rotate_but_a_dirty_replacement_ip_is_rotated_again():
    with LocalCloud(scenario_path=SCENARIOS / "recycled-ip.yaml", rotate_on="fingerprinted") as cloud:
        running = {t.slot: t for t in cloud.wait_for_running(3)}
        run, report = cloud.sweep()
        history_slots = {t.slot: t for t in cloud.scheduler.history}
        stopped = [t for t in cloud.scheduler.history if not t.running]
        dirty_ip = history_slots[3].ip
        dirty = history(cloud, dirty_ip)
    assert run.status == "SUCCEEDED"
    [rotation] = report.rotated
    assert rotation["from"] == running[2].ip  # the stale-tagged slot 1 stays where it is
    assert rotation["status"] == "ROTATED" and rotation["attempts"] == 2
    assert rotation["via"] == [dirty_ip] and rotation["to"] == history_slots[4].ip
    assert [t.task_arn for t in stopped] == [running[2].task_arn, history_slots[3].task_arn]
    assert "rotation 2 of" in stopped[1].stopped_reason and "prior owner" in stopped[1].stopped_reason
    assert dirty["rotations"] == 1  # the dirty IP's own stop is counted on it
    [email] = report.emails
    assert f"{rotation['from']} -> {rotation['to']}  (2 attempts; skipped dirty IP(s) {dirty_ip})" in email["body"]


def test_the_rotation_bound_is_honoured_and_reported():
    with LocalCloud(
        scenario_path=SCENARIOS / "dirty-replacements.yaml",
        rotate_on="fingerprinted",
        parameters={"MaxRotationAttempts": "2"},
    ) as cloud:
        [first] = cloud.wait_for_running(1)
        run, report = cloud.sweep()
        stopped = [t for t in cloud.scheduler.history if not t.running]
    assert run.status == "SUCCEEDED"
    [rotation] = report.rotated
    assert rotation["status"] == "FAILED" and rotation["attempts"] == 2 and rotation["to"] is None
    assert "still on a dirty IP after 2 rotation(s)" in rotation["reason"]
    assert len(stopped) == 2 and stopped[0].task_arn == first.task_arn  # exactly the bound, no more
    [email] = report.emails
    assert "1 rotation(s) failed" in email["subject"] and "Rotation FAILED" in email["body"]


def test_a_replacement_that_never_gets_a_public_ip_fails_the_rotation_after_the_bounded_wait():
    with LocalCloud(rotate_on="fingerprinted", parameters={"ReplacementChecks": "3"}) as cloud:
        cloud.wait_for_running(3)
        cloud.scheduler.assign_public_ips = False
        run, report = cloud.sweep()
        lists = [i for i in cloud.runtime.invocations if "ListHoneypotIps" in i.function_name]
    assert run.status == "SUCCEEDED"
    [rotation] = report.rotated
    assert rotation["status"] == "FAILED" and "no replacement task with a public IP within 90 s" in rotation["reason"]
    # The sweep's listing, then exactly ReplacementChecks waits, then the Shodan alert's IPs.
    assert [bool(i.event.get("ipsOnly")) for i in lists] == [False] * (1 + 3) + [True]
    [email] = report.emails
    assert "rotation(s) failed" in email["subject"]


def test_a_rotation_that_cannot_finish_still_records_the_sweep_and_alerts(monkeypatch):
    from moto.ecs.exceptions import ECSException
    from moto.ecs.models import EC2ContainerServiceBackend

    real_list_tasks = EC2ContainerServiceBackend.list_tasks
    calls = []

    def list_tasks_then_fail(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # the sweep's own listing works; listing replacements keeps failing
            raise ECSException("ServerException", "ECS is unavailable (local fault injection).")
        return real_list_tasks(self, *args, **kwargs)

    with LocalCloud(rotate_on="fingerprinted") as cloud:
        tasks = {t.slot: t for t in cloud.wait_for_running(3)}
        cloud.scheduler.stop()  # keep the fault away from the local scheduler's own listing
        monkeypatch.setattr(EC2ContainerServiceBackend, "list_tasks", list_tasks_then_fail)
        run, report = cloud.sweep()
        record = cloud.evidence(f"sweeps/{run.name}.json")
        burned = history(cloud, tasks[2].ip)
    assert run.status == "SUCCEEDED"  # nothing lost: the record, the history and the alert all happened
    [rotation] = report.rotated
    assert rotation["status"] == "FAILED" and "rotation was aborted" in rotation["reason"]
    lists = [i for i in cloud.runtime.invocations if "ListHoneypotIps" in i.function_name]
    # Tried, retried 3 times, given up: the replacements' listing, then the Shodan alert's (not synced).
    assert [i.error_type for i in lists] == [None] + ["HoneynetApiError"] * 4 * 2
    assert record["shodanAlert"] == {"status": "NOT_SYNCED", "error": "HoneynetApiError"}
    assert record["checked"] == 3 and record["rotationError"].startswith(
        "HoneynetApiError: listing the honeynet's tasks failed"
    )
    assert burned["rotations"] == 1 and burned["lastVerdict"] == "FINGERPRINTED"
    [email] = report.emails
    assert "rotation aborted" in email["subject"] and "Rotation ABORTED: HoneynetApiError" in email["body"]
