"""``python -m ics_honeynet doctor`` against the local cloud: the same boto3 calls a user's account gets."""

from __future__ import annotations

import json
import time

import boto3

from ics_honeynet.__main__ import main
from localcloud.cloud import SHODAN_KEY_PARAMETER, LocalCloud

REGION = "us-east-1"


def doctor(capsys, *args: str) -> tuple[int, dict[str, dict[str, str]]]:
    """Run the command with --json; its findings by check."""
    status = main(["doctor", *args, "--json"])
    document = json.loads(capsys.readouterr().out)
    return status, {f["check"]: f for f in document["findings"]}


def statuses(findings: dict[str, dict[str, str]]) -> dict[str, str]:
    return {check: f["status"] for check, f in findings.items()}


def test_a_fresh_deployment_then_its_first_sweep_and_conpot_logs(capsys):
    with LocalCloud() as cloud:
        running = cloud.wait_for_running(3)
        stack = ["--stack", cloud.stack_name, "--region", REGION]
        before_status, before = doctor(capsys, *stack)
        machine = cloud.stack.output("SweepStateMachineArn")
        run, _report = cloud.sweep()
        after_sweep_status, after_sweep = doctor(capsys, *stack)
        # The local ECS agent logs each container's start; a Conpot event is put where the awslogs
        # driver would, in a newer stream.
        group = cloud.stack.output("HoneypotLogGroupName")
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_stream(logGroupName=group, logStreamName="conpot/conpot/0123abcd")
        logs.put_log_events(
            logGroupName=group,
            logStreamName="conpot/conpot/0123abcd",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "New modbus session from 192.0.2.9"}],
        )
        _status, with_logs = doctor(capsys, *stack)
        missing = main(["doctor", "--stack", "no-such-stack", "--region", REGION])
        missing_err = capsys.readouterr().err

    assert before_status == 0
    assert statuses(before) == {
        "stack": "OK", "alerts": "OK", "shodan-key": "OK", "honeypots": "OK", "logs": "OK", "sweep": "WARN",
    }  # fmt: skip
    assert before["stack"]["message"] == "stack ics-honeynet-local is CREATE_COMPLETE in us-east-1"
    # moto confirms email subscriptions at once (the pending case is in tests/unit/test_doctor.py).
    assert before["alerts"]["message"] == "alert subscription confirmed (email:researcher@example.org)"
    assert before["shodan-key"]["message"] == (
        "SSM parameter /ics-honeynet/shodan-api-key is a SecureString in us-east-1 (value not read)"
    )
    ips = sorted(t.ip for t in running if t.ip)
    assert len(ips) == 3
    assert before["honeypots"]["message"] == f"3/3 tasks RUNNING with public IPs {', '.join(ips)}"
    assert before["logs"]["message"].startswith(
        "Conpot logs arriving in /ics-honeynet/ics-honeynet-local/conpot: last event 0 min ago (stream conpot/"
    )
    start = f"aws stepfunctions start-execution --state-machine-arn {machine} --region us-east-1"
    assert before["sweep"]["message"] == f"no sweep has run; start one: {start}"

    assert run.status == "SUCCEEDED"
    assert after_sweep_status == 0
    assert after_sweep["sweep"]["status"] == "OK"
    assert after_sweep["sweep"]["message"].startswith(f"last sweep {run.name} SUCCEEDED (started ")
    assert after_sweep["logs"]["status"] == "OK"

    assert with_logs["logs"]["status"] == "OK"
    assert with_logs["logs"]["message"] == (
        "Conpot logs arriving in /ics-honeynet/ics-honeynet-local/conpot: last event 0 min ago "
        "(stream conpot/conpot/0123abcd)"
    )

    assert missing == 2
    assert missing_err.startswith(
        "error: stack no-such-stack not found in region us-east-1: check --stack and --region"
    )


def test_a_broken_deployment_fails_with_what_is_wrong_and_never_prints_the_key(capsys):
    with LocalCloud(stored_shodan_key="not-the-key") as cloud:
        cloud.wait_for_running(3)
        run, _report = cloud.sweep()
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.delete_parameter(Name=SHODAN_KEY_PARAMETER)
        # A task that exits and is not replaced (the scheduler paused, as when ECS cannot start one).
        cloud.scheduler.stop()
        victim = cloud.scheduler.running_tasks()[0]
        cloud.scheduler.stop_task(victim.task_arn, reason="Essential container in task exited")
        status, findings = doctor(capsys, "--stack", cloud.stack_name, "--region", REGION)
        text_status = main(["doctor", "--stack", cloud.stack_name, "--region", REGION])
        text = capsys.readouterr().out

    assert run.status == "FAILED" and run.error == "ShodanAuthError"
    assert status == 1 and text_status == 1
    assert statuses(findings) == {
        "stack": "OK", "alerts": "OK", "shodan-key": "FAIL", "honeypots": "FAIL", "logs": "OK", "sweep": "FAIL",
    }  # fmt: skip
    assert findings["shodan-key"]["message"] == (
        "SSM parameter /ics-honeynet/shodan-api-key (ShodanApiKeyParameter) not found in us-east-1: every sweep fails"
    )
    assert findings["shodan-key"]["fix"] == (
        'aws ssm put-parameter --type SecureString --name /ics-honeynet/shodan-api-key --value "$SHODAN_API_KEY" '
        "--region us-east-1"
    )
    assert findings["honeypots"]["message"] == (
        f"2/3 tasks RUNNING with a public IP; task {victim.task_arn.rsplit('/', 1)[-1][:8]} stopped: "
        "Essential container in task exited"
    )
    assert findings["sweep"]["message"].startswith(f"last sweep {run.name} FAILED (started ")
    assert findings["sweep"]["message"].endswith(
        "): ShodanAuthError: Shodan rejected the API key (401/403). "
        "Check the SSM parameter named by ShodanApiKeyParameter."
    )
    assert "FAIL  shodan-key  SSM parameter /ics-honeynet/shodan-api-key" in text
    assert text.splitlines()[-1] == "3 FAIL, 0 WARN, 3 OK"
    assert "not-the-key" not in text and "not-the-key" not in json.dumps(findings)
