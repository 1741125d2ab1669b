"""Every tenure of an IP kept with its history (the research timeline's exposure milestones)."""

from __future__ import annotations

import boto3
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ics_honeynet.exposure_history import MAX_PAST_TENURES, IpHistory, TenureRecord, record_check, record_rotation
from ics_honeynet.history_store import read_histories, write_histories

IP = "192.0.2.1"


def check(previous: IpHistory | None, task: str, verdict: str, at: str) -> IpHistory:
    result = {"ip": IP, "taskArn": task, "verdict": verdict, "startedAt": f"{at[:10]}T00:00:00+00:00"}
    history, _ = record_check(previous, result, checked_at=at, execution="s")
    return history


def test_a_new_task_archives_the_finished_tenure_with_its_milestones():
    h = check(None, "t/a", "NOT_INDEXED", "2026-11-01T01:00:00+00:00")
    h = check(h, "t/a", "INDEXED", "2026-11-02T01:00:00+00:00")
    h = check(h, "t/a", "FINGERPRINTED", "2026-11-03T01:00:00+00:00")
    h = IpHistory(**{**h.__dict__, "last_rotated_at": "2026-11-03T01:05:00.000Z", "rotations": 1})  # CountRotation
    h = check(h, "t/b", "NOT_INDEXED", "2026-11-05T01:00:00+00:00")  # AWS recycled the IP to us
    first, second = h.tenures()
    assert first == TenureRecord(
        task_arn="t/a", started="2026-11-01T00:00:00+00:00", first_indexed="2026-11-02T01:00:00+00:00",
        first_fingerprinted="2026-11-03T01:00:00+00:00", rotated_at="2026-11-03T01:05:00.000Z",
        last_seen="2026-11-03T01:00:00+00:00",
    )  # fmt: skip
    # The earlier tenure's rotation is not this one's; its lifetime count stays.
    assert second.task_arn == "t/b" and second.rotated_at is None and second.first_indexed is None
    assert h.rotations == 1


def test_a_rotation_starts_the_new_ips_tenure_and_keeps_what_that_ip_had():
    old = check(None, "t/a", "FINGERPRINTED", "2026-11-01T01:00:00+00:00")
    earlier_on_new_ip = IpHistory(ip="203.0.113.5", task_arn="t/z", first_seen_running="2026-10-01T00:00:00+00:00")
    histories = {IP: old, "203.0.113.5": earlier_on_new_ip}
    chain = {"from": IP, "fromTask": "t/a", "status": "ROTATED", "to": "203.0.113.5", "toTask": "t/b",
             "toStartedAt": "2026-11-01T02:00:00+00:00", "toVerdict": "NOT_INDEXED"}  # fmt: skip
    record_rotation(histories, chain, checked_at="2026-11-01T02:01:00+00:00", execution="s")
    assert [t.task_arn for t in histories["203.0.113.5"].tenures()] == ["t/z", "t/b"]
    # Folding the same chain twice (a re-run summary) does not archive the new tenure into itself.
    record_rotation(histories, chain, checked_at="2026-11-01T02:02:00+00:00", execution="s")
    assert [t.task_arn for t in histories["203.0.113.5"].tenures()] == ["t/z", "t/b"]


def test_past_tenures_are_bounded():
    h = None
    for n in range(MAX_PAST_TENURES + 5):
        h = check(h, f"t/{n}", "NOT_INDEXED", f"2026-11-01T{n % 24:02d}:00:00+00:00")
    assert len(h.past_tenures) == MAX_PAST_TENURES and h.tenures()[-1].task_arn == f"t/{MAX_PAST_TENURES + 4}"
    assert h.past_tenures[-1].task_arn == f"t/{MAX_PAST_TENURES + 3}"  # the newest kept, the oldest dropped


VERDICTS = st.sampled_from(["NOT_INDEXED", "INDEXED", "FINGERPRINTED"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), VERDICTS), max_size=30))
def test_one_tenure_per_change_of_task_and_milestones_never_move_earlier(sweeps):
    h, changes_of_task, last_task = None, 0, None
    for day, (task, verdict) in enumerate(sweeps):
        h = check(h, f"t/{task}", verdict, f"2026-11-{day + 1:02d}T01:00:00+00:00")
        changes_of_task += f"t/{task}" != last_task
        last_task = f"t/{task}"
    tenures = h.tenures() if h else []
    assert len(tenures) == changes_of_task
    for tenure in tenures:
        assert tenure.started is not None and tenure.last_seen is not None
        if tenure.first_fingerprinted:  # fingerprinted implies indexed, not earlier
            assert tenure.first_indexed is not None and tenure.first_indexed <= tenure.first_fingerprinted
        if tenure.first_indexed:
            assert tenure.first_indexed <= tenure.last_seen


def test_tenures_survive_the_table():
    h = check(None, "t/a", "INDEXED", "2026-11-01T01:00:00+00:00")
    h = check(h, "t/b", "NOT_INDEXED", "2026-11-02T01:00:00+00:00")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName="exposure", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "ip", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "ip", "KeyType": "HASH"}],
        )  # fmt: skip
        write_histories(dynamodb, "exposure", [h])
        assert read_histories(dynamodb, "exposure", [IP])[IP] == h
