"""The fault matrix (README "Faults"): each fault, its decided outcome, through the local cloud."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def by_ip(report) -> dict[str, dict]:
    return {item["ip"]: item for item in report.checked}


def record_of(cloud, run) -> dict:
    return cloud.evidence(f"sweeps/{run.name}.json")


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


@pytest.mark.parametrize("fault", ["403"])
def test_shodan_forbidden_fails_the_sweep_and_alerts(quiet, fault):
    quiet.shodan.set_fault(fault)
    run, report = quiet.sweep()
    assert run.status == "FAILED" and run.error == "ShodanAuthError"
    [email] = report.emails
    assert "sweep FAILED" in email["subject"] and "ShodanAuthError" in email["body"]


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


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", "ShodanUnavailableError"),
        ("502", "ShodanUnavailableError"),
        ("503", "ShodanUnavailableError"),
        ("timeout", "ShodanUnavailableError"),
        ("garbage", "ShodanResponseError"),
        ("missing_fields", "ShodanResponseError"),
    ],
)
def test_a_persistent_fault_on_one_ip_is_recorded_and_the_sweep_goes_on(default, fault, error, monkeypatch):
    monkeypatch.setenv("SHODAN_TIMEOUT_SECONDS", "0.2")
    default.shodan.timeout_hold_seconds = 0.5
    victim = next(t.ip for t in default.scheduler.running_tasks() if t.slot == 1)  # the indexed one
    default.shodan.set_fault(fault, ip=victim)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert by_ip(report)[victim]["verdict"] == "ERROR" and by_ip(report)[victim]["error"] == error
    assert {i["verdict"] for ip, i in by_ip(report).items() if ip != victim} == {"NOT_INDEXED", "FINGERPRINTED"}
    recorded = {r["ip"]: r for r in record_of(default, run)["results"]}
    assert recorded[victim]["error"] == error
    # The reason is kept in full beside it (a Lambda error's cause is too big for the state).
    error_key = f"errors/{victim}/{run.name}.json"
    assert recorded[victim]["errorKey"] == error_key and error_key in report.s3_keys
    stored = default.evidence(error_key)
    assert stored["Error"] == error and json.loads(stored["Cause"])["errorType"] == error
    [email] = report.emails
    assert "1 not checked" in email["subject"] and f"{victim}  {error}" in email["body"]
    assert f"(details: s3://{default.stack.output('EvidenceBucketName')}/{error_key})" in email["body"]
    if fault in ("500", "503"):  # retried (MaxAttempts 3) before being recorded
        assert len(default.shodan.requests(victim)) == 1 + 3


def test_a_transient_5xx_is_retried_then_succeeds(default):
    victim = next(t.ip for t in default.scheduler.running_tasks() if t.slot == 1)
    default.shodan.set_fault("503", ip=victim, times=2)
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert by_ip(report)[victim]["verdict"] == "INDEXED"
    assert [r.status for r in default.shodan.requests(victim)][:3] == [503, 503, 200]


def test_shodan_unreachable_records_every_ip_as_not_checked(quiet):
    quiet.shodan_endpoint = "http://127.0.0.1:9"  # nothing listens on the discard port
    run, report = quiet.sweep()
    assert run.status == "SUCCEEDED"
    assert {i["error"] for i in report.checked} == {"ShodanUnavailableError"}
    assert len(record_of(quiet, run)["results"]) == 2
    [email] = report.emails
    assert "2 not checked" in email["subject"]
    causes = [quiet.evidence(k)["Cause"] for k in report.s3_keys if k.startswith("errors/")]
    assert len(causes) == 2 and all("could not connect to Shodan" in c for c in causes)


def test_s3_refusing_evidence_still_alerts_the_finding(default):
    bucket = default.stack.output("EvidenceBucketName")
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{bucket}/evidence/*",
    }
    boto3.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    run, report = default.sweep()
    assert run.status == "SUCCEEDED"
    assert not [k for k in report.s3_keys if k.startswith("evidence/")]
    assert f"sweeps/{run.name}.json" in report.s3_keys
    [email] = report.emails
    assert email["body"].count("evidence:   NOT STORED") == 2


def test_s3_refusing_the_sweep_record_fails_the_sweep_after_alerting(default):
    bucket = default.stack.output("EvidenceBucketName")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/sweeps/*"}
    boto3.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    run, report = default.sweep()
    assert run.status == "FAILED" and run.error == "SweepRecordNotStored"
    [email] = report.emails  # the findings still went out
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"


def test_sns_failing_fails_the_sweep_with_the_evidence_kept(default):
    boto3.client("sns").delete_topic(TopicArn=default.stack.output("AlertTopicArn"))
    run, report = default.sweep()
    assert run.status == "FAILED" and run.error == "AlertNotSent"
    assert len([k for k in report.s3_keys if k.startswith("evidence/")]) == 2
    assert f"sweeps/{run.name}.json" in report.s3_keys


def test_ecs_refusing_to_stop_a_task_is_alerted_as_a_failed_rotation(monkeypatch):
    from moto.ecs.exceptions import InvalidParameterException
    from moto.ecs.models import EC2ContainerServiceBackend

    def refuse(self, cluster_str, task_str, reason):
        raise InvalidParameterException("The task cannot be stopped (local fault injection).")

    with LocalCloud(rotate_on="fingerprinted") as cloud:
        before = {t.ip for t in cloud.wait_for_running(3)}
        monkeypatch.setattr(EC2ContainerServiceBackend, "stop_task", refuse)
        run, report = cloud.sweep()
        after = {t.ip for t in cloud.scheduler.running_tasks()}
        record = record_of(cloud, run)
    assert run.status == "SUCCEEDED"  # the findings and the failure went out by email
    [rotation] = report.rotated
    assert rotation["status"] == "FAILED" and rotation["to"] is None
    assert "ECS did not stop task" in rotation["reason"] and "InvalidParameter" in rotation["reason"]
    assert after == before
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 rotation(s) failed"
    assert "Rotation FAILED" in email["body"] and rotation["from"] in email["body"]
    assert {c["kind"] for c in record["changes"]} == {"NEWLY_FINGERPRINTED", "NEWLY_INDEXED", "ROTATION_FAILED"}


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
