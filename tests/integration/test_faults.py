"""The fault table (README "Faults: nothing lost"), row by row, through the local cloud: the real
ASL's Retry and Catch, the real handlers, the real shodan client against the local Shodan.

Every number the table promises is a literal here: tries counted as the requests the local Shodan
received (or the calls AWS received), backoff as the ceilings of the waits Step Functions made
between them (``IntervalSeconds`` x ``BackoffRate``^n, capped at ``MaxDelaySeconds``; with full
jitter each wait is drawn below its ceiling). "No retry" is exactly one request.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta
from pathlib import Path

import boto3
import pytest

from localcloud.authorizer import aws_error
from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "shodan"
STATE_MACHINE = "SweepStateMachineRole"  # the principal of the state machine's own AWS calls


def refuse_puts(cloud, prefix: str) -> None:
    """The evidence bucket's policy denies every s3:PutObject under ``prefix`` (as S3 refusing that store)."""
    bucket = cloud.stack.output("EvidenceBucketName")
    resource = f"arn:aws:s3:::{bucket}/{prefix}*"
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": resource}
    boto3.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )


def by_ip(report) -> dict[str, dict]:
    return {item["ip"]: item for item in report.checked}


def record_of(cloud, run) -> dict:
    return cloud.evidence(f"sweeps/{run.name}.json")


def host_answers(cloud, ip) -> list[int]:
    """The HTTP statuses of the host lookups of ``ip`` the local Shodan answered, in order."""
    return [r.status for r in cloud.shodan.requests(ip) if r.path.startswith("/shodan/host/")]


def honeyscore_answers(cloud, ip) -> list[int]:
    return [r.status for r in cloud.shodan.requests(ip) if r.path.startswith("/labs/honeyscore/")]


def lookups_of(cloud, ip) -> list:
    return [i for i in cloud.runtime.invocations if "ShodanLookup" in i.function_name and i.event.get("ip") == ip]


def backoff(cloud, run, state, ip=None) -> list[tuple[str, float]]:
    """Each retry of ``state`` (for ``ip``): the error it retried (an AWS error by its code, without
    the service prefix Step Functions adds) and its wait's ceiling; every wait drawn within its
    ceiling (full jitter)."""
    waits = cloud.retries(run, state, ip)
    assert all(0 <= w.wait <= w.ceiling for w in waits), waits
    return [(w.error.rsplit(".", 1)[-1], w.ceiling) for w in waits]


def pace_widenings(cloud) -> int:
    """How many times the lookup's containers widened their Shodan pace after a 429: each pace
    starts 3% wider than the key's 1 request/s (1.03 s) and widens 5% per 429."""
    pacers = [c.module("shodan_client")._pacer() for c in cloud.containers["ShodanLookupFunction"]]
    return sum(round(math.log(p.interval / 1.03) / math.log(1.05)) for p in pacers)


def alarms(cloud) -> list[tuple[str, bool]]:
    return [(d.alarm, d.delivered) for d in cloud.alarm_deliveries]


@pytest.fixture
def quiet():
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml") as cloud:
        cloud.wait_for_running(2)
        yield cloud


@pytest.fixture
def default():
    with LocalCloud() as cloud:
        cloud.wait_for_running(3)
        yield cloud


def indexed_ip(cloud) -> str:
    """The default scenario's indexed honeypot (slot 1; slot 0 is not indexed, slot 2 fingerprinted)."""
    return next(t.ip for t in cloud.scheduler.running_tasks() if t.slot == 1)


# -- Shodan 401 / 403 ---------------------------------------------------------------------------
@pytest.mark.parametrize("fault", ["403"])
def test_shodan_forbidden_fails_the_sweep_and_alerts(quiet, fault):
    quiet.shodan.set_fault(fault)
    run, report = quiet.sweep()
    assert run.status == "FAILED" and run.error == "ShodanAuthError"
    [email] = report.emails
    assert "sweep FAILED" in email["subject"] and "ShodanAuthError" in email["body"]
    # No retry helps: no IP is asked twice, Step Functions retried nothing, the alarm fires.
    assert set(Counter(r.ip for r in quiet.shodan.requests()).values()) == {1}
    assert backoff(quiet, run, "CheckIp") == []
    assert alarms(quiet) == [("SweepFailedAlarm", True)]


def test_a_missing_shodan_key_parameter_fails_the_sweep_and_alerts_naming_it(quiet):
    # The README's put-parameter in the wrong region: the stack's region has no such parameter.
    boto3.client("ssm", region_name="us-east-1").delete_parameter(Name="/ics-honeynet/shodan-api-key")
    run, report = quiet.sweep()
    fix = (
        "store the key as a SecureString in SSM parameter /ics-honeynet/shodan-api-key in region us-east-1 "
        "(aws ssm put-parameter --region us-east-1 --type SecureString --name /ics-honeynet/shodan-api-key "
        "--value ...), or, to sweep without a Shodan key, deploy with ShodanEngine=internetdb (Shodan InternetDB alone)"
    )
    assert run.status == "FAILED" and run.error == "ShodanKeyUnavailableError"
    assert run.cause.startswith("the Shodan API key could not be read (")
    assert run.cause.endswith(fix)
    assert quiet.shodan.requests() == []
    assert report.s3_keys == [f"targets/{run.name}.json"]  # no IP recorded as "not checked"
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: sweep FAILED"
    assert "Error: ShodanKeyUnavailableError\nCause: the Shodan API key could not be read (" in email["body"]
    assert fix in email["body"] and "errorMessage" not in email["body"]


# -- rate limit ---------------------------------------------------------------------------------
def test_a_rate_limit_that_persists_is_retried_six_times_with_backoff_then_recorded(default):
    victim = indexed_ip(default)
    default.shodan.set_fault("rate_limit", ip=victim, endpoint="host")
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert host_answers(default, victim) == [429] * 7  # the first try and 6 retries
    assert backoff(default, run, "CheckIp", victim) == [("ShodanRateLimitError", s) for s in (2, 4, 8, 16, 30, 30)]
    assert by_ip(report)[victim] == {"ip": victim, "verdict": "ERROR", "error": "ShodanRateLimitError"}
    assert {i["verdict"] for ip, i in by_ip(report).items() if ip != victim} == {"NOT_INDEXED", "FINGERPRINTED"}
    # Each 429 widened the pace of the container that met it.
    assert pace_widenings(default) == 7


# -- 5xx, timeouts, Shodan's "Request timed out", bodies that are not a host ------------------------
def test_a_transient_5xx_is_retried_then_succeeds(default):
    victim = indexed_ip(default)
    default.shodan.set_fault("503", ip=victim, times=2)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert by_ip(report)[victim]["verdict"] == "INDEXED"
    assert host_answers(default, victim) == [503, 503, 200]
    assert backoff(default, run, "CheckIp", victim) == [("ShodanUnavailableError", 5), ("ShodanUnavailableError", 10)]


UNAVAILABLE_BACKOFF = [("ShodanUnavailableError", s) for s in (5, 10, 20)]


@pytest.mark.parametrize(
    ("fault", "error", "tries", "retried"),
    [
        ("500", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF),
        ("502", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF),
        ("503", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF),
        ("timeout", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF),
        ("timed_out", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF),
        # The same answer would come back: exactly one request.
        ("garbage", "ShodanResponseError", 1, []),
        ("missing_fields", "ShodanResponseError", 1, []),
        ("null_body", "ShodanResponseError", 1, []),
        ("empty_object", "ShodanResponseError", 1, []),
    ],
)
def test_a_persistent_fault_on_one_ip_is_recorded_and_the_sweep_goes_on(
    default, fault, error, tries, retried, monkeypatch
):
    monkeypatch.setenv("SHODAN_TIMEOUT_SECONDS", "0.2")
    default.shodan.timeout_hold_seconds = 0.5
    victim = indexed_ip(default)
    default.shodan.set_fault(fault, ip=victim)
    run, report = default.sweep()
    check_a_persistent_fault_on_one_ip(default, run, report, victim, fault, error, tries, retried)


def check_a_persistent_fault_on_one_ip(cloud, run, report, victim, fault, error, tries, retried) -> None:
    """The promise for a fault that persists on one IP (the mutation tests hold a mutant to it)."""
    assert run.status == "SUCCEEDED"
    assert len(lookups_of(cloud, victim)) == tries
    if fault != "timeout":  # a held answer is recorded when the hold ends, after the client gave up
        assert len(host_answers(cloud, victim)) == tries
    assert backoff(cloud, run, "CheckIp", victim) == retried
    assert by_ip(report)[victim]["verdict"] == "ERROR" and by_ip(report)[victim]["error"] == error
    assert {i["verdict"] for ip, i in by_ip(report).items() if ip != victim} == {"NOT_INDEXED", "FINGERPRINTED"}
    recorded = {r["ip"]: r for r in record_of(cloud, run)["results"]}
    assert recorded[victim]["error"] == error
    # The reason is kept in full beside it (a Lambda error's cause is too big for the state).
    error_key = f"errors/{victim}/{run.name}.json"
    assert recorded[victim]["errorKey"] == error_key and error_key in report.s3_keys
    stored = cloud.evidence(error_key)
    assert stored["Error"] == error and json.loads(stored["Cause"])["errorType"] == error
    [email] = report.emails
    assert "1 not checked" in email["subject"] and f"{victim}  {error}" in email["body"]
    assert f"(details: s3://{cloud.stack.output('EvidenceBucketName')}/{error_key})" in email["body"]


def test_shodan_unreachable_records_every_ip_as_not_checked(quiet, unused_port):
    quiet.shodan_endpoint = f"http://127.0.0.1:{unused_port}"  # bound, never listening: refused
    run, report = quiet.sweep()
    assert run.status == "SUCCEEDED"
    assert {i["error"] for i in report.checked} == {"ShodanUnavailableError"}
    assert len(record_of(quiet, run)["results"]) == 2
    for task in quiet.scheduler.running_tasks():  # retried like a 5xx: 4 tries each
        assert len(lookups_of(quiet, task.ip)) == 4
        assert backoff(quiet, run, "CheckIp", task.ip) == UNAVAILABLE_BACKOFF
    [email] = report.emails
    assert "2 not checked" in email["subject"]
    causes = [quiet.evidence(k)["Cause"] for k in report.s3_keys if k.startswith("errors/")]
    assert len(causes) == 2 and all("could not connect to Shodan" in c for c in causes)


# -- the honeyscore -------------------------------------------------------------------------------
def test_a_honeyscore_that_stays_unavailable_is_retried_in_the_lookup_then_reported_unknown(default):
    indexed, burned = (next(t.ip for t in default.scheduler.running_tasks() if t.slot == s) for s in (1, 2))
    default.shodan.set_fault("503", ip=indexed, endpoint="honeyscore")
    default.shodan.set_fault("rate_limit", ip=burned, endpoint="honeyscore")
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert honeyscore_answers(default, indexed) == [503] * 4  # the first try and 3 retries
    assert honeyscore_answers(default, burned) == [429] * 8  # 8 tries
    assert host_answers(default, indexed) == host_answers(default, burned) == [200]
    assert pace_widenings(default) == 8  # after each 429
    # The verdicts stand on the banners' tags; the score is unknown, never low.
    assert (by_ip(report)[indexed]["verdict"], by_ip(report)[burned]["verdict"]) == ("INDEXED", "FINGERPRINTED")
    recorded = {r["ip"]: r for r in record_of(default, run)["results"]}
    assert recorded[indexed]["honeyscoreStatus"] == recorded[burned]["honeyscoreStatus"] == "UNAVAILABLE"
    [email] = report.emails
    assert email["body"].count("UNKNOWN - Shodan did not answer") == 2


# -- one IP's check failing outright, bulky documents --------------------------------------------------
def test_an_unexpected_failure_of_one_check_is_recorded_by_its_name_and_the_others_keep_their_verdicts(default):
    victim = indexed_ip(default)

    def crash_for_the_victim(handler):
        def crashing(event, context):
            if event.get("ip") == victim:
                raise KeyError("banners")  # a bug: not one of the lookup's typed errors
            return handler(event, context)

        return crashing

    default.runtime.wrap(default.stack.functions["ShodanLookupFunction"], crash_for_the_victim)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert len(lookups_of(default, victim)) == 1 and backoff(default, run, "CheckIp", victim) == []  # no retry
    assert by_ip(report)[victim] == {"ip": victim, "verdict": "ERROR", "error": "KeyError"}
    assert {i["verdict"] for ip, i in by_ip(report).items() if ip != victim} == {"NOT_INDEXED", "FINGERPRINTED"}
    assert default.evidence(f"errors/{victim}/{run.name}.json")["Error"] == "KeyError"


def test_a_failed_check_whose_cause_s3_refuses_still_ends_as_that_ips_error(default):
    refuse_puts(default, "errors/")
    victim = indexed_ip(default)
    default.shodan.set_fault("garbage", ip=victim)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert backoff(default, run, "StoreCheckError", victim) == [("AccessDeniedException", s) for s in (2, 4, 8)]
    assert not [k for k in report.s3_keys if k.startswith("errors/")]
    [result] = [r for r in record_of(default, run)["results"] if r["ip"] == victim]
    assert (result["verdict"], result["error"], result["failure"]) == (
        "ERROR",
        "ShodanResponseError",
        {"stored": False},
    )
    [email] = report.emails
    assert f"- {victim}  ShodanResponseError\n" in email["body"]  # no cause, no dead link


def test_a_huge_host_document_is_kept_as_its_bounded_excerpt(default):
    victim = indexed_ip(default)
    task = next(t for t in default.scheduler.running_tasks() if t.ip == victim)
    document = json.loads((CORPUS / "recycled_https_prior_owner.json").read_text())
    before_our_task = (task.started_at - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    document = document | {"ip_str": victim, "data": [b | {"timestamp": before_our_task} for b in document["data"]]}
    served = json.dumps(document)
    default.shodan.set_raw_answer(victim, (200, "application/json", served))
    run, _report = default.sweep()
    assert run.status == "SUCCEEDED" and len(served) > 400_000
    key = f"evidence/{victim}/{run.name}.json"
    s3 = boto3.client("s3", region_name="us-east-1")
    stored = s3.get_object(Bucket=default.stack.output("EvidenceBucketName"), Key=key)["Body"].read()
    assert len(stored) <= 32 * 1024
    evidence = json.loads(stored)
    assert evidence["verdict"] == "NOT_INDEXED" and evidence["priorOwner"]["banners"] == len(document["data"])


def test_a_pace_table_that_does_not_answer_is_retried_then_every_ip_recorded_without_a_request(quiet):
    gone = aws_error("ResourceNotFoundException", "Requested resource not found", 400)
    pace = quiet.fault("dynamodb", "UpdateItem", gone, by="ShodanLookupFunctionRole")
    run, report = quiet.sweep()
    assert run.status == "SUCCEEDED"
    assert {i["error"] for i in report.checked} == {"PacerUnavailableError"} and len(report.checked) == 2
    for task in quiet.scheduler.running_tasks():
        assert len(lookups_of(quiet, task.ip)) == 4
        assert backoff(quiet, run, "CheckIp", task.ip) == [("PacerUnavailableError", s) for s in (5, 10, 20)]
    # No slot, no lookup (the alert sync, whose role the fault spares, may still ask Shodan).
    assert len(pace.calls) == 2 * 4 and [r for r in quiet.shodan.requests() if r.path.startswith("/shodan/host")] == []


# -- S3 --------------------------------------------------------------------------------------------
def test_s3_refusing_evidence_still_alerts_the_finding(default):
    refuse_puts(default, "evidence/")
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert not [k for k in report.s3_keys if k.startswith("evidence/")]
    for ip in (t.ip for t in default.scheduler.running_tasks() if t.slot in (1, 2)):  # the exposed two
        assert backoff(default, run, "StoreEvidence", ip) == [("AccessDeniedException", s) for s in (2, 4, 8)]
    assert f"sweeps/{run.name}.json" in report.s3_keys
    [email] = report.emails
    assert email["body"].count("evidence:   NOT STORED") == 2


def test_s3_refusing_the_sweep_record_fails_the_sweep_after_alerting_and_rotating():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        cloud.wait_for_running(3)
        refuse_puts(cloud, "sweeps/")
        run, report = cloud.sweep()
    assert run.status == "FAILED" and run.error == "SweepRecordNotStored"
    [rotation] = report.rotated
    assert rotation["status"] == "ROTATED"
    [email] = report.emails  # the findings and the rotation still went out
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 rotated"
    assert alarms(cloud) == [("SweepFailedAlarm", True)]


# -- SNS -------------------------------------------------------------------------------------------
def test_sns_failing_briefly_is_retried_and_the_alert_goes_out(default):
    publish = default.fault("sns", "Publish", aws_error("InternalError", "SNS is unavailable"), times=2)
    run, report = default.sweep()
    check_a_brief_sns_failure(default, run, report, publish)


def check_a_brief_sns_failure(cloud, run, report, publish) -> None:
    assert run.status == "SUCCEEDED"
    assert len(publish.calls) == 3
    assert backoff(cloud, run, "NotifyExposure") == [("InternalErrorException", 2), ("InternalErrorException", 4)]
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"


def test_sns_failing_fails_the_sweep_with_the_evidence_kept(default):
    publish = default.fault("sns", "Publish", aws_error("InternalError", "SNS is unavailable"), by=STATE_MACHINE)
    run, report = default.sweep()
    assert run.status == "FAILED" and run.error == "AlertNotSent"
    alerts = [c for c in publish.calls if c["Subject"] != "ICS honeynet: sweep FAILED"]
    assert len(alerts) == 5  # the first try and 4 retries
    assert backoff(default, run, "NotifyExposure") == [("InternalErrorException", s) for s in (2, 4, 8, 16)]
    assert report.emails == []
    assert len([k for k in report.s3_keys if k.startswith("evidence/")]) == 2
    assert f"sweeps/{run.name}.json" in report.s3_keys
    assert alarms(default) == [("SweepFailedAlarm", True)]


# -- ECS -------------------------------------------------------------------------------------------
REFUSED = aws_error("InvalidParameterException", "The task cannot be stopped (local fault injection).", 400)


def test_ecs_refusing_to_stop_a_task_is_alerted_as_a_failed_rotation():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        before = {t.ip for t in cloud.wait_for_running(3)}
        stop = cloud.fault("ecs", "StopTask", REFUSED, by=STATE_MACHINE)
        run, report = cloud.sweep()
        after = {t.ip for t in cloud.scheduler.running_tasks()}
        record = record_of(cloud, run)
    assert run.status == "SUCCEEDED"  # the findings and the failure went out by email
    assert len(stop.calls) == 4  # the first try and 3 retries
    assert backoff(cloud, run, "StopHoneypotTask") == [("InvalidParameterException", s) for s in (2, 4, 8)]
    [rotation] = report.rotated
    assert rotation["status"] == "FAILED" and rotation["to"] is None
    assert "ECS did not stop task" in rotation["reason"] and "InvalidParameter" in rotation["reason"]
    assert after == before
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 rotation(s) failed"
    assert "Rotation FAILED" in email["body"] and rotation["from"] in email["body"]
    assert {c["kind"] for c in record["changes"]} == {"NEWLY_FINGERPRINTED", "NEWLY_INDEXED", "ROTATION_FAILED"}


def test_ecs_refusing_a_stop_once_is_retried_and_the_rotation_completes():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        cloud.wait_for_running(3)
        stop = cloud.fault("ecs", "StopTask", REFUSED, times=1, by=STATE_MACHINE)
        run, report = cloud.sweep()
        check_a_stop_refused_once(cloud, run, report, stop)


def check_a_stop_refused_once(cloud, run, report, stop) -> None:
    assert run.status == "SUCCEEDED" and len(stop.calls) == 2
    assert backoff(cloud, run, "StopHoneypotTask") == [("InvalidParameterException", 2)]
    [rotation] = report.rotated
    assert rotation["status"] == "ROTATED" and rotation["to"]
    assert f"- {rotation['from']} -> {rotation['to']}\n" in report.emails[0]["body"]


def test_a_replacement_ip_shodan_cannot_answer_for_is_kept_and_its_reason_emailed():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        cloud.wait_for_running(3)
        bind = cloud.scheduler.on_task_started

        def unanswered_replacements(task):
            bind(task)
            if task.slot >= 3:  # the replacement: Shodan keeps failing on its IP
                cloud.shodan.set_fault("503", ip=task.ip)

        cloud.scheduler.on_task_started = unanswered_replacements
        run, report = cloud.sweep()
    assert run.status == "SUCCEEDED"
    [rotation] = report.rotated
    new_ip = rotation["to"]
    assert rotation["status"] == "ROTATED" and new_ip
    assert backoff(cloud, run, "LookupReplacement", new_ip) == UNAVAILABLE_BACKOFF
    assert rotation["reason"] == f"replacement IP {new_ip} not verified: ShodanUnavailableError"
    [email] = report.emails
    assert (
        f"- {rotation['from']} -> {new_ip}  [replacement IP {new_ip} not verified: ShodanUnavailableError]\n"
        in (email["body"])
    )


def test_a_rotation_count_the_table_refuses_is_retried_and_the_rotation_goes_on():
    gone = aws_error("ResourceNotFoundException", "Requested resource not found", 400)
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        cloud.wait_for_running(3)
        count = cloud.fault("dynamodb", "UpdateItem", gone, by=STATE_MACHINE)
        run, report = cloud.sweep()
        [rotation] = report.rotated
        item = boto3.client("dynamodb").get_item(
            TableName=cloud.stack.output("ExposureTableName"), Key={"ip": {"S": rotation["from"]}}
        )["Item"]
    assert run.status == "SUCCEEDED"
    assert len(count.calls) == 4 and [c["Key"] for c in count.calls] == [{"ip": {"S": rotation["from"]}}] * 4
    assert backoff(cloud, run, "CountRotation") == [("ResourceNotFoundException", s) for s in (2, 4, 8)]
    assert rotation["status"] == "ROTATED" and rotation["to"]
    assert item["rotations"] == {"N": "0"} and item["replacedBy"] == {"S": rotation["to"]}  # only the count missed it
    # ... and the record and the email say so.
    assert rotation["uncounted"] == 1
    [email] = report.emails
    missed = "(the exposure table's lifetime rotation count missed 1 of these stops)"
    line = f"- {rotation['from']} -> {rotation['to']}  {missed}"
    assert line in email["body"].splitlines()


# -- ECS/EC2 listing ----------------------------------------------------------------------------------
def test_ec2_failing_the_listing_with_an_error_other_than_not_found_is_retried_then_fails_the_sweep_loudly(quiet):
    malformed = aws_error("InvalidNetworkInterfaceID.Malformed", "Invalid id: 'eni-?' (local fault injection)", 400)
    describe = quiet.fault("ec2", "DescribeNetworkInterfaces", malformed)
    run, report = quiet.sweep()
    assert run.status == "FAILED" and run.error == "HoneynetApiError"
    lists = [i for i in quiet.runtime.invocations if "ListHoneypotIps" in i.function_name]
    assert [i.error_type for i in lists] == ["HoneynetApiError"] * 4  # the first try and 3 retries
    assert len(describe.calls) == 4
    assert backoff(quiet, run, "ListHoneypotIps") == [("HoneynetApiError", s) for s in (5, 10, 20)]
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: sweep FAILED" and "InvalidNetworkInterfaceID.Malformed" in email["body"]
    assert alarms(quiet) == [("SweepFailedAlarm", True)]


# -- the exposure table ---------------------------------------------------------------------------------
def unprocessed_keys(params):
    return 200, {"Responses": {t: [] for t in params["RequestItems"]}, "UnprocessedKeys": params["RequestItems"]}


def unprocessed_items(params):
    return 200, {"UnprocessedItems": params["RequestItems"]}


def test_a_throttled_history_batch_is_retried_until_every_item_is_read_and_written(default):
    reads = default.fault("dynamodb", "BatchGetItem", unprocessed_keys, times=2)
    writes = default.fault("dynamodb", "BatchWriteItem", unprocessed_items, times=3)
    run, _report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert (len(reads.calls), len(writes.calls)) == (3, 4)
    record = record_of(default, run)
    assert record["historyError"] is None and "historyWriteError" not in record
    again_run, again = default.sweep()  # the history was written: nothing is new
    assert again_run.status == "SUCCEEDED" and again.emails == []


def test_an_unreadable_exposure_table_alerts_every_finding_as_new_rather_than_miss_one(default):
    _first_run, first = default.sweep()
    assert len(first.emails) == 1
    reads = default.fault("dynamodb", "BatchGetItem", unprocessed_keys)  # throttled for good
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert len(reads.calls) == 5  # HistoryNotSaved after 5 tries
    [email] = report.emails  # nothing changed, but without the history every finding counts as new
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"
    assert "Exposure history unavailable" in email["body"]
    record = record_of(default, run)
    assert record["historyWriteError"].startswith("not written: the table could not be read (HistoryNotSaved")


def test_an_exposure_table_refusing_the_writes_is_recorded_and_the_alert_still_goes_out(default):
    writes = default.fault("dynamodb", "BatchWriteItem", unprocessed_items)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert len(writes.calls) == 5
    assert record_of(default, run)["historyWriteError"] == (
        "HistoryNotSaved: DynamoDB did not store 3 item(s) after retries"
    )
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"


# -- tasks ---------------------------------------------------------------------------------------------
def test_a_task_without_a_public_ip_is_recorded_as_skipped():
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml", tasks=1) as cloud:
        cloud.wait_for_running(1)
        cloud.scheduler.assign_public_ips = False
        pending = cloud.scheduler.start_task()
        run, report = cloud.sweep()
        record = record_of(cloud, run)
    assert run.status == "SUCCEEDED" and len(report.checked) == 1
    assert record["skipped"] == [
        {"taskArn": pending.task_arn, "reason": f"network interface {pending.eni} has no public IP yet"}
    ]
