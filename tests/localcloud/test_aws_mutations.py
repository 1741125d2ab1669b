"""Mutation tests: each defect that would break a real deployment, put back into a copy of the
template, makes the local cloud fail the way AWS would; the real template passes.

The defects are the ones a reading of AWS's documentation found in this stack (issue "Real AWS"):
the local cloud let every one of them pass before it evaluated IAM and played Fargate."""

from __future__ import annotations

import concurrent.futures
import json
import threading
import time
import types
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cloud import LocalCloud
from localcloud.constants import PROJECT_ROOT
from localcloud.lambda_runtime import InProcessLambda
from localcloud.sam import load_template
from localcloud.stack import DeployError
from tests.mutants import asl_mutant, mutant, template_copy

TEMPLATE = PROJECT_ROOT / "template.yaml"

FIXED_LOG_GRANT = (
    '- !Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${HoneypotLogGroup}:log-stream:*"'
)
LOG_GRANT_ON_GROUP_ARN = '- !Sub "${HoneypotLogGroup.Arn}:log-stream:*"'
FIXED_LIST_TASKS = """              Action: ecs:ListTasks
              # ListTasks without a container instance is authorised against "*"; the cluster
              # condition key scopes it to this cluster.
              Resource: "*\""""
LIST_TASKS_ON_CONTAINER_INSTANCES = (
    "              Action: ecs:ListTasks\n"
    '              Resource: !Sub "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}'
    ':container-instance/${HoneypotCluster}/*"'
)
CONPOT_DEPENDS_ON_INIT = """          DependsOn: &conpot-depends-on
            - { ContainerName: prepare-volumes, Condition: SUCCESS }
            - { ContainerName: ship-events, Condition: START }
"""


def without_init_container(tmp_path: Path) -> Path:
    """The default template's task without prepare-volumes (and the shipper, which needs the volume
    it prepares), Conpot given the task's whole memory: a copy of the template, as JSON (CloudFormation
    reads both; the YAML's aliases are resolved)."""
    template = load_template(TEMPLATE)
    definition = template["Resources"]["DefaultHoneypotTaskDefinition"]["Properties"]
    [conpot] = [c for c in definition["ContainerDefinitions"] if c["Name"] == "conpot"]
    conpot.pop("DependsOn")
    conpot["Memory"] = 512
    definition["ContainerDefinitions"] = [conpot]
    return template_copy(tmp_path, json.dumps(template, indent=1))


def test_the_real_template_deploys_and_sweeps_with_no_call_denied():
    with LocalCloud() as cloud:
        run = cloud.run_sweep()
        assert run.status == "SUCCEEDED"
        assert cloud.authorizer.denials == []
        # The ECS agent created each container's awslogs stream with the task execution role.
        streams = boto3.client("logs", region_name="us-east-1").describe_log_streams(
            logGroupName=cloud.stack.output("HoneypotLogGroupName")
        )["logStreams"]
        prefixes = sorted({s["logStreamName"].rsplit("/", 1)[0] for s in streams})
        assert prefixes == ["conpot/conpot", "conpot/prepare-volumes"]
        assert len(streams) == 6  # two containers x three tasks


def test_a_log_grant_built_on_the_log_groups_arn_fails_the_deploy_as_on_aws(tmp_path):
    template = mutant(tmp_path, FIXED_LOG_GRANT, LOG_GRANT_ON_GROUP_ARN)
    with pytest.raises(DeployError) as failure, LocalCloud(template_path=template):
        pass
    message = str(failure.value)
    assert "ECS deployment circuit breaker was triggered" in message
    assert "ResourceInitializationError: failed to validate logger args" in message
    assert "is not authorized to perform: logs:CreateLogStream" in message


def test_conpot_without_the_init_container_crash_loops_and_fails_the_deploy(tmp_path):
    template = without_init_container(tmp_path)
    expected = r"Essential container in task exited: conpot: PermissionError: \[Errno 13\]"
    with pytest.raises(DeployError, match=expected), LocalCloud(template_path=template):
        pass


def test_tmpfs_is_refused_as_fargate_refuses_it(tmp_path):
    template = mutant(
        tmp_path,
        CONPOT_DEPENDS_ON_INIT,
        CONPOT_DEPENDS_ON_INIT
        + "          LinuxParameters:\n            Tmpfs: [{ ContainerPath: /tmp/conpot, Size: 64 }]\n",
    )
    expected = r"CREATE_FAILED: task definition: .*tmpfs is not supported on Fargate"
    with pytest.raises(DeployError, match=expected), LocalCloud(template_path=template):
        pass


def test_list_tasks_granted_on_container_instances_is_denied_and_the_sweep_fails(tmp_path):
    template = mutant(tmp_path, FIXED_LIST_TASKS, LIST_TASKS_ON_CONTAINER_INSTANCES)
    with LocalCloud(template_path=template) as cloud:
        run = cloud.run_sweep()
        assert run.status == "FAILED"
        assert run.error == "HoneynetApiError"
        assert "is not authorized to perform: ecs:ListTasks on resource: *" in run.cause
        [denial] = {(d.request.action, d.request.resource) for d in cloud.authorizer.denials}
        assert denial == ("ecs:ListTasks", "*")
        # The failure email went out (the state machine may publish); the denial is named in it.
        [email] = cloud.emails()
        assert "ecs:ListTasks" in email.body


def test_sns_refuses_a_subject_of_100_characters_as_aws_does():
    with LocalCloud(tasks=0) as cloud:
        sns = boto3.client("sns", region_name="us-east-1")
        topic = cloud.stack.output("AlertTopicArn")
        sns.publish(TopicArn=topic, Subject="x" * 99, Message="ok")
        for subject in ("x" * 100, "two\nlines", "caf\u00e9"):
            with pytest.raises(ClientError) as refused:
                sns.publish(TopicArn=topic, Subject=subject, Message="no")
            assert refused.value.response["Error"]["Code"] == "InvalidParameter"


def test_a_lambda_running_past_its_timeout_answers_sandbox_timedout():
    runtime = InProcessLambda(time_scale=0.01)
    runtime.cpu_allowance = 0.0

    def slow(_event, _context):
        import time

        time.sleep(0.05)  # 5 s at this time scale
        return {"ok": True}

    runtime.register("slow", slow)
    fn = types.SimpleNamespace(
        function_name="slow",
        memory_size=128,
        timeout=3,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:slow",
    )
    payload, function_error = runtime.invoke(fn, b"{}")
    assert function_error == "Unhandled"
    assert payload == b'{"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 3.00 seconds"}'
    fn.timeout = 10
    assert runtime.invoke(fn, b"{}") == (b'{"ok": true}', None)


def test_invocations_sharing_the_process_cpu_each_get_the_allowance_once_per_sharer():
    """On AWS each container has its own CPU; here concurrent invocations share one process's."""
    runtime = InProcessLambda(time_scale=0.001)
    runtime.cpu_allowance = 0.2
    together = threading.Barrier(2)

    def busy(event, _context):
        if event.get("together"):
            together.wait(timeout=5)
        time.sleep(0.3)  # past one allowance (0.2 s + 3 ms), within two
        return {"ok": True}

    runtime.register("busy", busy)
    fn = types.SimpleNamespace(
        function_name="busy",
        memory_size=128,
        timeout=3,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:busy",
    )
    assert runtime.invoke(fn, b"{}")[1] == "Unhandled"  # alone: Sandbox.Timedout
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _i: runtime.invoke(fn, b'{"together": true}'), range(2)))
    assert answers == [(b'{"ok": true}', None)] * 2


KEY_POLICY_FOR_ALARMS = """          - Sid: CloudWatchAlarmsPublish
            Effect: Allow
            Principal: { Service: cloudwatch.amazonaws.com }"""


def test_a_failed_sweeps_alarms_reach_the_encrypted_topic():
    with LocalCloud(stored_shodan_key="not-the-key") as cloud:
        run = cloud.run_sweep()
        assert run.status == "FAILED"
        assert [(d.alarm, d.delivered) for d in cloud.alarm_deliveries] == [("SweepFailedAlarm", True)]


def test_without_the_key_policy_for_cloudwatch_a_failed_sweeps_alarm_is_never_delivered(tmp_path):
    template = mutant(
        tmp_path,
        KEY_POLICY_FOR_ALARMS,
        KEY_POLICY_FOR_ALARMS.replace("cloudwatch.amazonaws.com", "events.amazonaws.com"),
    )
    with LocalCloud(template_path=template, stored_shodan_key="not-the-key") as cloud:
        assert cloud.run_sweep().status == "FAILED"
        [delivery] = cloud.alarm_deliveries
        assert not delivery.delivered
        assert "cloudwatch.amazonaws.com is not authorized to perform: kms:GenerateDataKey" in delivery.denied


LOGS_KEY_CONTEXT = (
    '"kms:EncryptionContext:aws:logs:arn": '
    '!Sub "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"'
)


def test_every_functions_logs_reach_its_encrypted_log_group():
    with LocalCloud() as cloud:
        deliveries = cloud.function_log_deliveries
        resources = load_template(TEMPLATE)["Resources"].values()
        # Every function the stack deploys: all but CensysLookupFunction, which needs a Censys token.
        functions = sum(r["Type"] == "AWS::Serverless::Function" and "Condition" not in r for r in resources)
        assert len(deliveries) == functions == 9
        assert not any("CensysLookup" in d.function for d in deliveries)
        assert [d.denied for d in deliveries] == [None] * functions
        assert all(d.log_group == f"/aws/lambda/{d.function}" for d in deliveries)


def test_a_key_policy_that_names_only_the_honeynets_log_groups_fails_the_lambda_log_groups(tmp_path):
    narrowed = LOGS_KEY_CONTEXT.replace("log-group:*", "log-group:/ics-honeynet/*")
    template = mutant(tmp_path, LOGS_KEY_CONTEXT, narrowed)
    expected = r"CREATE_FAILED: log group /aws/lambda/.*not allowed to be used with Arn"
    with pytest.raises(DeployError, match=expected), LocalCloud(template_path=template):
        pass


# Each iteration hands the Map only the IP and its verdicts (Shodan's, InternetDB's, Censys's); the
# whole check (ports, tags, the honeyscore, the banners' org) goes to S3 when Shodan has it.
ITERATION_KEEPS_THE_VERDICT = """            "Parameters": {
              "ip.$": "$.ip",
              "verdict.$": "$.verdict",
              "internetDb.$": "$.internetDb.verdict",
              "censys.$": "$.censys.verdict"
            },
            "End": true"""
ITERATION_KEEPS_THE_WHOLE_CHECK = """            "End": true"""


@pytest.mark.long_running
def test_a_map_that_keeps_each_whole_check_exceeds_the_payload_quota_at_1000_ips(tmp_path):
    """States.DataLimitExceeded is terminal: the Map's catch-all does not catch it, so the sweep
    fails without its failure email (only the alarm on failed executions tells); moto alone let
    the catch-all take it."""
    template = asl_mutant(tmp_path, ITERATION_KEEPS_THE_VERDICT, ITERATION_KEEPS_THE_WHOLE_CHECK)
    scenario = tmp_path / "quiet.yaml"
    scenario.write_text("description: quiet\nshodan: {api_key: k}\nhoneypots: [not_indexed]\n")
    with LocalCloud(
        template_path=template,
        scenario_path=scenario,
        tasks=1000,
        parameters={"MapConcurrency": "8"},
        time_scale=0.001,
    ) as cloud:
        cloud.wait_for_running(1000, timeout=120)
        run = cloud.run_sweep(timeout=600)
        assert (run.status, run.error) == ("FAILED", "States.DataLimitExceeded"), (run.error, run.cause)
        assert cloud.emails() == []
        assert [(d.alarm, d.delivered) for d in cloud.alarm_deliveries] == [("SweepFailedAlarm", True)]


SCAN_FUNCTION_POLICIES = """      # The Shodan client's needs, as the lookup's: the key, the shared pace.
      Policies: [*shodan-client-policy]"""


def test_a_scan_function_without_the_shodan_clients_grants_scans_nothing_and_records_why(tmp_path, monkeypatch):
    """Experiment mode: RequestShodanScan's role with the key but without the shared pace's grant
    (a scan function written without the lookup's policies). On AWS its UpdateItem on the pace
    table is denied: no scan is requested, the error is recorded on the treatment tenure, and the
    sweep still succeeds."""
    import secrets

    from ics_honeynet.history_store import read_histories

    monkeypatch.setattr(secrets, "randbelow", lambda n: 1 % n)  # every fresh tenure treated
    key_only = (
        "      Policies:\n"
        "        - SSMParameterReadPolicy: { ParameterName: !Select [1, !Split [/, !Ref ShodanApiKeyParameter]] }\n"
    )
    template = mutant(tmp_path, SCAN_FUNCTION_POLICIES, key_only)
    scenario = tmp_path / "experiment.yaml"
    scenario.write_text("description: e\nshodan: {api_key: k}\nrun: {experiment: true}\nhoneypots: [not_indexed]\n")
    with LocalCloud(template_path=template, scenario_path=scenario) as cloud:
        [task] = cloud.wait_for_running(1)
        run = cloud.run_sweep()
        assert run.status == "SUCCEEDED", run.cause
        assert cloud.shodan.scans() == []
        denials = {
            (d.request.action, d.principal.arn.rsplit("/", 1)[-1].split("-")[3]) for d in cloud.authorizer.denials
        }
        assert denials == {("dynamodb:UpdateItem", "RequestShodanScanFunctionRole")}
        table = cloud.stack.output("ExposureTableName")
        tenure = read_histories(boto3.client("dynamodb", region_name="us-east-1"), table, [task.ip])[task.ip]
        assert tenure.scan_requested_at is not None and tenure.scan_id is None
        assert tenure.scan_error.startswith("PacerUnavailableError: the Shodan pace table did not answer")
        assert "not authorized to perform: dynamodb:UpdateItem" in tenure.scan_error


WEBHOOK_URL_CONFIG = """      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: BUFFERED
"""
# The function URL as configured before October 2025: the public may invoke the URL, but no
# statement lets it invoke the function (SAM's FunctionUrlConfig adds both).
URL_WITHOUT_INVOKE_PERMISSION = """
  ShodanWebhookFunctionUrl:
    Type: AWS::Lambda::Url
    Properties: { TargetFunctionArn: !Ref ShodanWebhookFunction, AuthType: NONE }

  ShodanWebhookUrlPermission:
    Type: AWS::Lambda::Permission
    Properties:
      Action: lambda:InvokeFunctionUrl
      FunctionName: !Ref ShodanWebhookFunction
      Principal: "*"
      FunctionUrlAuthType: NONE

  ShodanWebhookLogGroup:"""


def test_a_function_url_granting_only_invoke_function_url_refuses_every_request(tmp_path):
    text = TEMPLATE.read_text()
    assert text.count(WEBHOOK_URL_CONFIG) == 1 and text.count("\n  ShodanWebhookLogGroup:") == 1
    mutated = text.replace(WEBHOOK_URL_CONFIG, "").replace("\n  ShodanWebhookLogGroup:", URL_WITHOUT_INVOKE_PERMISSION)
    with LocalCloud(template_path=template_copy(tmp_path, mutated), tasks=0) as cloud:
        answer = cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), b"{}", {})
        invoked = [i for i in cloud.runtime.invocations if "ShodanWebhook" in i.function_name]
    # Lambda refuses before the function runs: not even the missing signature is looked at.
    assert (answer.status, answer.json()) == (403, {"Message": "Forbidden"}) and invoked == []


def test_the_real_templates_webhook_url_reaches_the_function():
    with LocalCloud(tasks=0) as cloud:
        answer = cloud.post_to_function_url(cloud.stack.output("ShodanWebhookUrl"), b"{}", {})
        invoked = [i for i in cloud.runtime.invocations if "ShodanWebhook" in i.function_name]
    assert (answer.status, answer.json()["outcome"]) == (401, "UNSIGNED") and len(invoked) == 1
