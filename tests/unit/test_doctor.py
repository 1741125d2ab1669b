"""doctor's checks: literal API answers (as boto3 returns them) in, findings out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from ics_honeynet import doctor
from ics_honeynet.__main__ import main
from ics_honeynet.doctor import Finding

REGION = "eu-west-1"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:honeynet-AlertTopic-ABC"
MACHINE = "arn:aws:states:eu-west-1:111122223333:stateMachine:Sweep-XYZ"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

STACK_ANSWER = {
    "StackName": "honeynet",
    "StackStatus": "CREATE_COMPLETE",
    "Parameters": [
        {"ParameterKey": "AlertEmail", "ParameterValue": "me@example.org"},
        {"ParameterKey": "ShodanApiKeyParameter", "ParameterValue": "/ics-honeynet/shodan-api-key"},
    ],
    "Outputs": [
        {"OutputKey": "AlertTopicArn", "OutputValue": TOPIC},
        {"OutputKey": "SweepStateMachineArn", "OutputValue": MACHINE},
        {"OutputKey": "HoneypotClusterName", "OutputValue": "honeynet-Cluster"},
        {"OutputKey": "HoneypotServiceNames", "OutputValue": "default=honeynet-Service"},
        {"OutputKey": "HoneypotLogGroupName", "OutputValue": "/ics-honeynet/honeynet/conpot"},
    ],
}
STACK = doctor.deployment(STACK_ANSWER, REGION)


def stack_in(status: str, reason: str | None = None) -> doctor.Deployment:
    return doctor.deployment({**STACK_ANSWER, "StackStatus": status, "StackStatusReason": reason}, REGION)


# -- stack ------------------------------------------------------------------------------------
def test_the_stack_answer_gives_outputs_and_parameters():
    assert STACK.outputs["HoneypotServiceNames"] == "default=honeynet-Service"
    assert STACK.parameters == {"AlertEmail": "me@example.org", "ShodanApiKeyParameter": "/ics-honeynet/shodan-api-key"}
    assert doctor.stack_finding(STACK) == Finding("stack", "OK", "stack honeynet is CREATE_COMPLETE in eu-west-1")
    assert doctor.stack_finding(stack_in("UPDATE_COMPLETE")).status == "OK"


def test_a_rolled_back_creation_fails_and_says_delete_then_deploy():
    finding = doctor.stack_finding(stack_in("ROLLBACK_COMPLETE", "The following resource(s) failed to create"))
    assert finding.status == "FAIL"
    assert finding.message == (
        "stack honeynet failed to create and was rolled back (The following resource(s) failed to create); "
        "nothing of it runs"
    )
    assert "aws cloudformation delete-stack --stack-name honeynet --region eu-west-1" in (finding.fix or "")
    assert "aws cloudformation describe-stack-events --stack-name honeynet --region eu-west-1" in (finding.fix or "")


def test_a_rolled_back_update_warns_and_an_unfinished_stack_fails():
    assert doctor.stack_finding(stack_in("UPDATE_ROLLBACK_COMPLETE")).status == "WARN"
    busy = doctor.stack_finding(stack_in("CREATE_IN_PROGRESS"))
    assert busy.status == "FAIL"
    assert busy.message == "stack honeynet is CREATE_IN_PROGRESS: wait until it is complete"
    assert doctor.stack_finding(stack_in("UPDATE_ROLLBACK_FAILED")).status == "FAIL"


# -- alerts -----------------------------------------------------------------------------------
SUBSCRIBE = (
    f"aws sns subscribe --topic-arn {TOPIC} --protocol email --notification-endpoint me@example.org --region eu-west-1"
)


def test_a_pending_subscription_fails_and_says_click_the_email():
    # What AWS lists before the link in the email is clicked: the ARN is literally PendingConfirmation.
    listed = [
        {
            "SubscriptionArn": "PendingConfirmation",
            "Owner": "111122223333",
            "Protocol": "email",
            "Endpoint": "me@example.org",
            "TopicArn": TOPIC,
        }
    ]
    finding = doctor.alerts_finding(STACK, listed, {})
    assert finding.status == "FAIL"
    assert finding.message == (
        "the alert subscription for me@example.org is pending confirmation: no alert is delivered until confirmed"
    )
    assert finding.fix == (
        'click "Confirm subscription" in the email "AWS Notification - Subscription Confirmation" sent to '
        f"me@example.org (check the spam folder); to have it sent again: {SUBSCRIBE}"
    )


def test_attributes_saying_pending_fail_too():
    arn = f"{TOPIC}:0b1c"
    listed = [{"SubscriptionArn": arn, "Protocol": "email", "Endpoint": "me@example.org", "TopicArn": TOPIC}]
    pending = doctor.alerts_finding(STACK, listed, {arn: {"PendingConfirmation": "true"}})
    confirmed = doctor.alerts_finding(STACK, listed, {arn: {"PendingConfirmation": "false"}})
    assert pending.status == "FAIL"
    assert confirmed == Finding("alerts", "OK", "alert subscription confirmed (email:me@example.org)")


def test_no_subscription_at_all_fails_with_the_subscribe_command():
    finding = doctor.alerts_finding(STACK, [], {})
    assert finding == Finding(
        "alerts", "FAIL", f"no subscription to the alert topic {TOPIC}: no alert is delivered", SUBSCRIBE
    )


# -- Shodan key -------------------------------------------------------------------------------
PUT = (
    'aws ssm put-parameter --type SecureString --name /ics-honeynet/shodan-api-key --value "$SHODAN_API_KEY" '
    "--region eu-west-1"
)


def described(**fields: Any) -> list[dict[str, Any]]:
    return [{"Name": "/ics-honeynet/shodan-api-key", "Type": "SecureString", "KeyId": "alias/aws/ssm", **fields}]


def test_a_missing_key_parameter_fails_naming_it_and_the_region():
    finding = doctor.shodan_key_finding(STACK, [])
    assert finding.status == "FAIL"
    assert finding.message == (
        "SSM parameter /ics-honeynet/shodan-api-key (ShodanApiKeyParameter) not found in eu-west-1: every sweep fails"
    )
    assert finding.fix == PUT


def test_without_a_key_the_internetdb_engine_needs_none():
    import dataclasses

    keyless = dataclasses.replace(STACK, parameters={**STACK.parameters, "ShodanEngine": "internetdb"})
    finding = doctor.shodan_key_finding(keyless, [])
    assert (finding.status, finding.fix) == ("OK", None)
    assert finding.message.startswith("ShodanEngine=internetdb: the sweep needs no Shodan key")
    # A key stored in clear is still reported, whatever the engine.
    assert doctor.shodan_key_finding(keyless, described(Type="String")).status == "FAIL"


def test_the_key_parameter_must_be_a_secure_string_under_the_managed_key():
    assert doctor.shodan_key_finding(STACK, described()) == Finding(
        "shodan-key", "OK", "SSM parameter /ics-honeynet/shodan-api-key is a SecureString in eu-west-1 (value not read)"
    )
    plain = doctor.shodan_key_finding(STACK, described(Type="String"))
    assert plain.status == "FAIL" and plain.fix == f"{PUT} --overwrite"
    own_key = doctor.shodan_key_finding(STACK, described(KeyId="alias/my-key"))
    assert own_key.status == "WARN"
    assert own_key.fix == f"{PUT} --overwrite --key-id alias/aws/ssm"


# -- honeypots --------------------------------------------------------------------------------
SERVICE = {"serviceName": "honeynet-Service", "status": "ACTIVE", "desiredCount": 2, "events": []}


def task(suffix: str, status: str = "RUNNING", eni: str | None = None, **fields: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "taskArn": f"arn:aws:ecs:eu-west-1:111122223333:task/honeynet-Cluster/{suffix}",
        "lastStatus": status,
        "attachments": [],
        **fields,
    }
    if eni:
        answer["attachments"] = [
            {
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED",
                "details": [
                    {"name": "subnetId", "value": "subnet-1"},
                    {"name": "networkInterfaceId", "value": eni},
                ],
            }
        ]
    return answer


def test_every_desired_task_running_with_a_public_ip_is_ok():
    tasks = [task("aaaaaaaa11", eni="eni-1"), task("bbbbbbbb22", eni="eni-2")]
    finding = doctor.honeypots_finding(STACK, SERVICE, tasks, {"eni-1": "203.0.113.7", "eni-2": "198.51.100.4"}, [])
    assert finding == Finding("honeypots", "OK", "2/2 tasks RUNNING with public IPs 198.51.100.4, 203.0.113.7")


def test_missing_tasks_fail_with_the_stopped_tasks_reasons():
    stopped = [
        task(
            "cccccccc33",
            "STOPPED",
            stoppedReason="Task failed to start",
            stoppedAt=datetime(2026, 5, 4, 13, 58, tzinfo=timezone(timedelta(hours=2))),  # 11:58 UTC
            containers=[{"name": "conpot", "reason": "CannotPullContainerError: pull access denied"}],
        ),
        task("dddddddd44", "STOPPED", stoppedReason="Scaling activity initiated by deployment"),
    ]
    service = {**SERVICE, "events": [{"message": "(service honeynet-Service) has started 1 tasks: (task cccc)."}]}
    finding = doctor.honeypots_finding(
        STACK, service, [task("aaaaaaaa11", eni="eni-1")], {"eni-1": "203.0.113.7"}, stopped
    )
    assert finding.status == "FAIL"
    assert finding.message == (
        "1/2 tasks RUNNING with a public IP; "
        "task cccccccc stopped at 2026-05-04 11:58 UTC: Task failed to start; "
        "container conpot: CannotPullContainerError: pull access denied; "
        "task dddddddd stopped: Scaling activity initiated by deployment; "
        "latest service event: (service honeynet-Service) has started 1 tasks: (task cccc)."
    )
    assert finding.fix == (
        "aws ecs describe-services --cluster honeynet-Cluster --services honeynet-Service --region eu-west-1 "
        "--query 'services[0].events[:5]'"
    )


def test_a_running_task_without_a_public_ip_fails():
    tasks = [task("aaaaaaaa11", eni="eni-1"), task("bbbbbbbb22", eni="eni-2")]
    finding = doctor.honeypots_finding(STACK, SERVICE, tasks, {"eni-1": "203.0.113.7", "eni-2": None}, [])
    assert finding.status == "FAIL"
    assert finding.message == "1/2 tasks RUNNING with a public IP; RUNNING without a public IP: task bbbbbbbb"
    assert "assignPublicIp ENABLED" in (finding.fix or "")


def test_tasks_still_starting_warn_and_no_service_or_no_task_wanted():
    tasks = [task("aaaaaaaa11", eni="eni-1"), task("bbbbbbbb22", "PROVISIONING")]
    starting = doctor.honeypots_finding(STACK, SERVICE, tasks, {"eni-1": "203.0.113.7"}, [])
    assert starting.status == "WARN"
    assert starting.message == "1/2 tasks RUNNING with a public IP; 1 starting (PROVISIONING)"
    assert doctor.honeypots_finding(STACK, None, [], {}, []).message == (
        "ECS service honeynet-Service in cluster honeynet-Cluster is not found"
    )
    idle = doctor.honeypots_finding(STACK, {**SERVICE, "desiredCount": 0}, [], {}, [])
    assert idle.status == "WARN"
    assert idle.fix == "sam deploy --stack-name honeynet --region eu-west-1 --parameter-overrides HoneypotCount=1"


# -- logs -------------------------------------------------------------------------------------
def stream(event: datetime | None, ingested: datetime | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"logStreamName": "conpot/conpot/abc", "creationTime": 1}
    if event:
        answer["lastEventTimestamp"] = int(event.timestamp() * 1000)
    if ingested:
        answer["lastIngestionTime"] = int(ingested.timestamp() * 1000)
    return answer


def test_logs_within_the_hour_are_ok_older_or_none_warn_no_group_fails():
    fresh = doctor.logs_finding(STACK, [stream(NOW - timedelta(minutes=12))], NOW)
    assert fresh == Finding(
        "logs",
        "OK",
        "Conpot logs arriving in /ics-honeynet/honeynet/conpot: last event 12 min ago (stream conpot/conpot/abc)",
    )
    stale = doctor.logs_finding(STACK, [stream(NOW - timedelta(hours=3))], NOW)
    assert stale.status == "WARN"
    assert stale.message == (
        "no Conpot log event in /ics-honeynet/honeynet/conpot for 3 h (last at 2026-05-04 09:00 UTC, "
        "stream conpot/conpot/abc)"
    )
    empty = doctor.logs_finding(STACK, [], NOW)
    assert empty.status == "WARN"
    assert (
        empty.message == "no Conpot log event in /ics-honeynet/honeynet/conpot yet: the honeypots have written nothing"
    )
    assert doctor.logs_finding(STACK, None, NOW).status == "FAIL"


def test_a_recent_ingestion_counts_when_the_event_time_lags():
    late = stream(NOW - timedelta(hours=2), ingested=NOW - timedelta(minutes=5))
    assert doctor.logs_finding(STACK, [late], NOW).status == "OK"


# -- sweep ------------------------------------------------------------------------------------
START = f"aws stepfunctions start-execution --state-machine-arn {MACHINE} --region eu-west-1"
LAMBDA_CAUSE = json.dumps(
    {
        "errorMessage": "Shodan rejected the API key (401)",
        "errorType": "ShodanAuthError",
        "requestId": "7f1e",
        "stackTrace": ['  File "/var/task/app.py", line 40, in lambda_handler\n'],
    }
)


def execution(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "executionArn": f"{MACHINE.replace(':stateMachine:', ':execution:')}:sweep-1",
        "name": "sweep-1",
        "status": status,
        "startDate": datetime(2026, 5, 4, 6, 0, tzinfo=UTC),
        **fields,
    }


def test_no_sweep_yet_warns_with_the_start_command():
    assert doctor.sweep_finding(STACK, None) == Finding("sweep", "WARN", f"no sweep has run; start one: {START}", START)


def test_a_failed_sweep_fails_with_its_error_and_parsed_cause():
    finding = doctor.sweep_finding(STACK, execution("FAILED", error="ShodanAuthError", cause=LAMBDA_CAUSE))
    assert finding.status == "FAIL"
    assert finding.message == (
        "last sweep sweep-1 FAILED (started 2026-05-04 06:00 UTC): ShodanAuthError: Shodan rejected the API key (401)"
    )
    assert (finding.fix or "").startswith(f"fix the cause, then start a sweep: {START}")
    assert doctor.sweep_finding(STACK, execution("TIMED_OUT")).message == (
        "last sweep sweep-1 TIMED_OUT (started 2026-05-04 06:00 UTC): TIMED_OUT"
    )
    other = doctor.sweep_finding(STACK, execution("ABORTED", error="States.Runtime", cause="stopped by hand"))
    assert other.message == "last sweep sweep-1 ABORTED (started 2026-05-04 06:00 UTC): States.Runtime: stopped by hand"
    assert doctor.sweep_finding(STACK, execution("SUCCEEDED")) == Finding(
        "sweep", "OK", "last sweep sweep-1 SUCCEEDED (started 2026-05-04 06:00 UTC)"
    )


def test_causes_are_parsed_through_nesting_and_shortened():
    nested = json.dumps({"Error": "States.TaskFailed", "Cause": LAMBDA_CAUSE})
    assert doctor.short_cause(nested) == "ShodanAuthError: Shodan rejected the API key (401)"
    assert doctor.short_cause("States.Timeout\n  after   900 s") == "States.Timeout after 900 s"
    long = doctor.short_cause("x" * 1000)
    assert len(long) == 300 and long.endswith("…")
    assert doctor.short_cause(None) == ""
    assert doctor.short_cause('{"Error": "X"}') == '{"Error":"X"}'


# -- the command ------------------------------------------------------------------------------
def test_exit_status_and_text():
    findings = [Finding("stack", "OK", "fine"), Finding("logs", "WARN", "quiet", "aws logs tail G")]
    assert doctor.exit_status(findings) == 0
    assert doctor.exit_status([*findings, Finding("sweep", "FAIL", "broken", "fix it")]) == 1
    assert doctor.render(STACK, findings) == [
        "doctor: stack honeynet in eu-west-1",
        "OK    stack       fine",
        "WARN  logs        quiet",
        "                  fix: aws logs tail G",
        "0 FAIL, 1 WARN, 1 OK",
    ]


def test_a_call_the_identity_may_not_make_is_a_warning_not_a_crash():
    error = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform logs:DescribeLogStreams"}},
        "DescribeLogStreams",
    )
    finding = doctor.unchecked("logs", error)
    assert finding.status == "WARN"
    assert finding.message == (
        "could not check: DescribeLogStreams failed (AccessDeniedException: "
        "not authorized to perform logs:DescribeLogStreams)"
    )


class StubbedSession:
    """A boto3 session whose CloudFormation client answers what a test says; no other client."""

    region_name = REGION

    def __init__(self) -> None:
        self.cfn = boto3.client("cloudformation", region_name=REGION)
        self.stubber = Stubber(self.cfn)

    def client(self, service: str) -> Any:
        assert service == "cloudformation", f"doctor should not call {service} here"
        return self.cfn


def test_a_stack_that_does_not_exist_names_the_stack_and_region():
    session = StubbedSession()
    session.stubber.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id nope does not exist", http_status_code=400
    )
    with session.stubber, pytest.raises(doctor.DoctorError) as raised:
        doctor.examine(session, "nope")
    assert str(raised.value).startswith("stack nope not found in region eu-west-1: check --stack and --region")


def test_rejected_credentials_stop_the_check():
    session = StubbedSession()
    session.stubber.add_client_error(
        "describe_stacks", "ExpiredToken", "The security token included in the request is expired"
    )
    with session.stubber, pytest.raises(doctor.DoctorError) as raised:
        doctor.examine(session, "honeynet")
    assert str(raised.value).startswith(
        "AWS refused the call with your credentials "
        "(ExpiredToken: The security token included in the request is expired)"
    )


def test_a_failed_stack_is_the_only_finding():
    session = StubbedSession()
    failed = {**STACK_ANSWER, "StackStatus": "ROLLBACK_COMPLETE", "CreationTime": NOW}
    session.stubber.add_response("describe_stacks", {"Stacks": [failed]})
    with session.stubber:
        _stack, findings = doctor.examine(session, "honeynet")
    assert [(f.check, f.status) for f in findings] == [("stack", "FAIL")]
    assert doctor.exit_status(findings) == 1


@pytest.fixture
def no_aws_configuration(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_credentials_exit_2_with_how_to_configure_them(no_aws_configuration, capsys):
    status = main(["doctor", "--stack", "honeynet", "--region", "eu-west-1", "--json"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == (
        "error: no usable AWS credentials (Unable to locate credentials): configure them with aws configure "
        "(or aws sso login, or set AWS_PROFILE), then run doctor again\n"
    )
    assert json.loads(captured.out)["exitStatus"] == 2


def test_no_region_exits_2(no_aws_configuration, capsys):
    assert main(["doctor", "--stack", "honeynet"]) == 2
    assert "no AWS region: pass --region R" in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["doctor"])
    assert exited.value.code == 2
    assert "the following arguments are required: --stack" in capsys.readouterr().err


def test_several_honeypot_services_are_one_check_as_bad_as_the_worst():
    stack = doctor.deployment(
        {**STACK_ANSWER, "Outputs": [{"OutputKey": "HoneypotServiceNames", "OutputValue": "default=svc-a,ipmi=svc-b"}]},
        REGION,
    )
    assert doctor.service_names(stack) == ["svc-a", "svc-b"]
    ok = doctor.Finding("honeypots", "OK", "svc-a: 1/1 tasks RUNNING")
    failing = doctor.Finding(
        "honeypots", "FAIL", "svc-b: 0/1 tasks RUNNING with a public IP", "aws ecs describe-services"
    )
    combined = doctor.combined([ok, failing])
    assert (combined.status, combined.fix) == ("FAIL", "aws ecs describe-services")
    assert combined.message == "svc-a: 1/1 tasks RUNNING; svc-b: 0/1 tasks RUNNING with a public IP"
    assert doctor.combined([ok]) is ok
