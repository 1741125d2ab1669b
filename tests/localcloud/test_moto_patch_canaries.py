"""Canaries for every moto patch in localcloud/moto_patches/ and localcloud/stack.py.

Each test fails loudly if a moto upgrade changes the internals an adapter relies on, or if
moto starts doing the thing itself (then the adapter should go).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud import moto_patches
from localcloud.constants import REGION
from localcloud.iam import condition_holds
from localcloud.lambda_runtime import InProcessLambda
from localcloud.moto_patches.base import check_moto_version
from localcloud.moto_patches.iam import role_managed_policies
from localcloud.moto_patches.s3 import SDK_REQUEST_CONTEXT
from localcloud.stack import DeployError, _evaluate_condition, _resolve_cidr, _resolve_if, render_definition
from tests.localcloud.conftest import MOTO_CONFIG

ROLE = "arn:aws:iam::123456789012:role/sfn"


def _run(definition: dict, name: str, payload: dict | None = None, timeout: float = 20.0) -> dict:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name=f"{name}-1", input=json.dumps(payload or {}))
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.02)
    return described


def _function(name: str) -> str:
    iam_role = boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="f.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=iam_role,
        Handler="app.lambda_handler",
        Code={"S3Bucket": "code", "S3Key": "f.zip"},
    )["FunctionArn"]


def test_moto_is_the_pinned_version():
    check_moto_version()


class ShodanRateLimitError(Exception):
    pass


def test_lambda_tasks_run_the_real_handler_and_errors_reach_retry_by_class_name(runtime):
    calls = []

    def handler(event, context):
        calls.append(event)
        if len(calls) == 1:
            raise ShodanRateLimitError("Request rate limit reached")
        return {"seen": event["ip"], "fn": context.function_name, "ms": context.get_remaining_time_in_millis() > 0}

    arn = _function("lookup")
    runtime.register("lookup", handler)
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": arn, "Payload.$": "$"},
                "ResultSelector": {"out.$": "$.Payload"},
                "Retry": [{"ErrorEquals": ["ShodanRateLimitError"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    result = _run(definition, "lambda", {"ip": "192.0.2.1"})
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"out": {"seen": "192.0.2.1", "fn": "lookup", "ms": True}}
    assert [i.error_type for i in runtime.invocations] == ["ShodanRateLimitError", None]


def test_unhandled_exception_is_a_function_error_with_its_type(runtime):
    def handler(event, context):
        raise ValueError("bad input")

    _function("broken")
    runtime.register("broken", handler)
    response = boto3.client("lambda", region_name=REGION).invoke(FunctionName="broken", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    body = json.loads(response["Payload"].read())
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "bad input"


def test_aws_sdk_tasks_take_and_give_pascal_case(runtime):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="evidence")
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="c")
    definition = {
        "StartAt": "Put",
        "States": {
            "Put": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
                "Parameters": {"Bucket": "evidence", "Key": "k.json", "Body.$": "$.doc"},
                "ResultSelector": {"eTag.$": "$.ETag"},
                "ResultPath": "$.put",
                "Next": "Describe",
            },
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:ecs:describeClusters",
                "Parameters": {"Clusters": ["c"]},
                "ResultSelector": {"clusters.$": "$.Clusters"},
                "ResultPath": "$.cluster",
                "End": True,
            },
        },
    }
    result = _run(definition, "sdk", {"doc": {"ip": "192.0.2.1"}})
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["cluster"]["clusters"][0]["ClusterName"] == "c"
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket="evidence", Key="k.json")["Body"].read()
    assert json.loads(stored) == {"ip": "192.0.2.1"}
    assert output["put"]["eTag"] == f'"{hashlib.md5(stored).hexdigest()}"'


def test_retry_and_wait_intervals_are_scaled(runtime):
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}}
    assert _run(definition, "wait", timeout=30)["status"] == "SUCCEEDED"


def test_each_retry_is_recorded_with_its_state_item_error_backoff_and_jitter(runtime):
    """moto's retrier, reimplemented step for step to record each retry: MaxAttempts retries after
    the first try, IntervalSeconds x BackoffRate^n capped at MaxDelaySeconds, FULL jitter below it."""
    from localcloud.moto_patches.stepfunctions import RETRY_WAITS

    def handler(event, context):
        raise ShodanRateLimitError("Request rate limit reached")

    arn = _function("limited")
    runtime.register("limited", handler)

    def call(jitter: str) -> dict:
        retry = {"ErrorEquals": ["ShodanRateLimitError"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 3}
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": arn, "Payload.$": "$"},
            "Retry": [
                {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1},
                retry | {"MaxDelaySeconds": 10, "JitterStrategy": jitter},
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "Caught"}],
            "End": True,
        }

    items = {"StartAt": "Call", "States": {"Call": call("NONE"), "Caught": {"Type": "Succeed"}}}
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.ips", "ItemProcessor": items, "Next": "Once"},
            "Once": {"Type": "Parallel", "Branches": [{"StartAt": "Call", "States": {
                "Call": call("FULL"), "Caught": {"Type": "Succeed"}}}], "End": True},
        },
    }  # fmt: skip
    assert _run(definition, "retried", {"ips": [{"ip": "192.0.2.1"}]})["status"] == "SUCCEEDED"
    in_map = [w for w in RETRY_WAITS if w.item is not None]
    assert [(w.execution, w.state, w.error, w.item, w.retry) for w in in_map] == [
        ("retried-1", "Call", "ShodanRateLimitError", {"ip": "192.0.2.1"}, n) for n in (1, 2, 3, 4)
    ]
    assert [w.ceiling for w in in_map] == [w.wait for w in in_map] == [2, 6, 10, 10]
    jittered = [w for w in RETRY_WAITS if w.item is None]
    assert [w.ceiling for w in jittered] == [2, 6, 10, 10]
    assert all(0 <= w.wait <= w.ceiling for w in jittered) and [w.wait for w in jittered] != [2, 6, 10, 10]
    assert len(runtime.invocations) == 2 * (1 + 4)


def test_moto_draws_a_retriers_counter_key_twice_when_iterations_race_and_we_draw_it_once(monkeypatch):
    """Two Map iterations reaching a retrier at once: with moto's lazy key one iteration's attempt
    count is kept under a key nobody reads again (it retries once more than MaxAttempts)."""
    import itertools
    import threading

    from moto.stepfunctions.parser import utils
    from moto.stepfunctions.parser.asl.component import eval_component
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsDecl

    from localcloud.moto_patches.stepfunctions import retry_counters_per_state_entry

    drawn = itertools.count()

    def slow_uid() -> str:
        time.sleep(0.05)  # widen the window between moto's check and its assignment
        return f"key-{next(drawn)}"

    monkeypatch.setattr(eval_component, "long_uid", slow_uid)
    monkeypatch.setattr(utils, "long_uid", slow_uid)

    def keys_drawn_by_two_racing_iterations() -> set[str]:
        retrier, keys, together = MaxAttemptsDecl(3), [], threading.Barrier(2)

        def ask() -> None:
            together.wait()
            keys.append(retrier.heap_key)

        threads = [threading.Thread(target=ask) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return set(keys)

    assert len(keys_drawn_by_two_racing_iterations()) == 2
    with retry_counters_per_state_entry():
        assert len(keys_drawn_by_two_racing_iterations()) == 1


def test_cloudformation_state_machines_are_executable(runtime):
    template = {
        "Resources": {
            "M": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "DefinitionString": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                },
            }
        }
    }
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="s", TemplateBody=json.dumps(template))
    arn = cfn.describe_stack_resources(StackName="s")["StackResources"][0]["PhysicalResourceId"]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.start_execution(stateMachineArn=arn, name="cfn-1")["executionArn"]
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.02)
    assert (described["status"], described["output"]) == ("SUCCEEDED", "{}")


def _fargate_task(group: str) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(
        family="f",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "x", "image": "i", "memory": 512}],
    )
    return ecs.run_task(
        cluster="c",
        taskDefinition="f",
        launchType="FARGATE",
        group=group,
        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}},
    )["tasks"][0]["taskArn"]


def test_ecs_tasks_stay_running_until_stopped(runtime):
    arn = _fargate_task("service:honeypots")
    ecs = boto3.client("ecs", region_name=REGION)
    for _ in range(3):
        assert ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING"
    ecs.stop_task(cluster="c", task=arn, reason="rotate")
    assert ecs.describe_tasks(cluster="c", tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED"


def test_the_scheduler_reads_moto_ecs_backend_maps(runtime):
    # localcloud/ecs_scheduler.py reads moto's backend directly (tasks by cluster name, services
    # by "cluster:service") so its loop needs no API call when nothing changed.
    from localcloud.ecs_scheduler import HoneynetScheduler

    arn = _fargate_task("service:honeypots")
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_service(cluster="c", serviceName="honeypots", taskDefinition="f", desiredCount=2)
    scheduler = HoneynetScheduler(cluster="c", service="honeypots", region=REGION)
    assert [t.task_arn for t in scheduler._backend_tasks()] == [arn]
    assert scheduler._desired_count() == 2
    ecs.update_service(cluster="c", service="honeypots", desiredCount=0)
    assert scheduler._desired_count() == 0


def test_list_tasks_filters_by_service(runtime):
    arn = _fargate_task("service:honeypots")
    ecs = boto3.client("ecs", region_name=REGION)
    assert ecs.list_tasks(cluster="c", serviceName="honeypots")["taskArns"] == [arn]
    assert ecs.list_tasks(cluster="c", serviceName="other")["taskArns"] == []
    assert ecs.list_tasks(cluster="c")["taskArns"] == [arn]


def test_conditions_if_and_novalue_resolve_as_cloudformation_does():
    conditions = {"IsA": {"Fn::Equals": [{"Ref": "T"}, "a"]}, "NotA": {"Fn::Not": [{"Condition": "IsA"}]}}
    truth = {n: _evaluate_condition(e, conditions, {"T": "a"}) for n, e in conditions.items()}
    assert truth == {"IsA": True, "NotA": False}
    node = {"L": [{"Fn::If": ["IsA", 1, {"Ref": "AWS::NoValue"}]}, {"Fn::If": ["NotA", 2, {"Ref": "AWS::NoValue"}]}]}
    node["K"] = {"Fn::If": ["NotA", "x", {"Ref": "AWS::NoValue"}]}
    assert _resolve_if(node, truth) == {"L": [1]}


def test_cidr_is_computed():
    node = {"Fn::Select": [1, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 2, 8]}]}
    assert _resolve_cidr(node, {"VpcCidr": "10.42.0.0/16"}) == {"Fn::Select": [1, ["10.42.0.0/24", "10.42.1.0/24"]]}


def test_definition_substitutions_render_and_missing_ones_fail():
    assert render_definition('{"a": "${X}", "b": "$.x"}', {"X": "arn:1"}) == '{"a": "arn:1", "b": "$.x"}'
    with pytest.raises(DeployError, match="lack values for: Y"):
        render_definition('{"a": "${Y}"}', {})


def test_cloudformation_ecs_and_vpc_keep_every_property(runtime):
    template = {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16", "EnableDnsHostnames": True}},
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24"}},
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
            "Def": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "conpot",
                    "NetworkMode": "awsvpc",
                    "RequiresCompatibilities": ["FARGATE"],
                    "Cpu": "256",
                    "Memory": "512",
                    "ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec",
                    "ContainerDefinitions": [
                        {"Name": "c", "Image": "i", "Memory": 512, "ReadonlyRootFilesystem": True}
                    ],
                },
            },
            "Svc": {
                "Type": "AWS::ECS::Service",
                "Properties": {
                    "Cluster": {"Ref": "Cluster"},
                    "TaskDefinition": {"Ref": "Def"},
                    "DesiredCount": 2,
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": {
                        "AwsvpcConfiguration": {
                            "AssignPublicIp": "ENABLED",
                            "Subnets": [{"Ref": "Subnet"}],
                            "SecurityGroups": [],
                        }
                    },
                },
            },
        }
    }
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="ecs", TemplateBody=json.dumps(template))
    resources = cfn.describe_stack_resources(StackName="ecs")["StackResources"]
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    ec2 = boto3.client("ec2", region_name=REGION)
    attribute = ec2.describe_vpc_attribute(VpcId=ids["Vpc"], Attribute="enableDnsHostnames")
    assert attribute["EnableDnsHostnames"]["Value"] is True
    ecs = boto3.client("ecs", region_name=REGION)
    definition = ecs.describe_task_definition(taskDefinition="conpot")["taskDefinition"]
    assert definition["networkMode"] == "awsvpc" and definition["cpu"] == "256"
    assert definition["executionRoleArn"].endswith("role/exec") and "taskRoleArn" not in definition
    assert definition["containerDefinitions"][0]["readonlyRootFilesystem"] is True
    [service] = ecs.describe_services(cluster=ids["Cluster"], services=[ids["Svc"]])["services"]
    assert service["desiredCount"] == 2 and service["launchType"] == "FARGATE"
    assert service["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == [ids["Subnet"]]


def test_bucket_policy_conditions_apply_only_when_they_hold(runtime):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="tls-only")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::tls-only/*"}
    tls_only = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls_only]}))
    assert s3.put_object(Bucket="tls-only", Key="a", Body=b"{}")["ETag"]
    # An unconditional deny still denies: the adapter does not open the bucket.
    s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket="tls-only", Key="b", Body=b"{}")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # moto: an empty 403


def test_condition_operators_we_cannot_evaluate_fail_loudly():
    with pytest.raises(NotImplementedError, match="IpAddress"):
        condition_holds({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:SourceIp": "10.1.1.1"})
    assert condition_holds({"StringLike": {"k": "ab*"}}, {"k": "abc"})
    assert not condition_holds({"Bool": {"aws:SecureTransport": "false"}}, SDK_REQUEST_CONTEXT)


def test_lambda_containers_are_reused_when_warm_and_added_when_concurrent(runtime):
    import threading

    started = []

    def factory(number):
        started.append(number)
        barrier_wait = threading.Event()

        def handler(event, context):
            if event.get("hold"):
                barrier_wait.wait(0.3)
            return {"container": number}

        return handler

    factory.is_container_factory = True
    _function("pool")
    runtime.register("pool", factory)
    client = boto3.client("lambda", region_name=REGION)

    def call(hold: bool) -> int:
        return json.loads(client.invoke(FunctionName="pool", Payload=json.dumps({"hold": hold}))["Payload"].read())[
            "container"
        ]

    assert [call(False) for _ in range(3)] == [0, 0, 0]  # warm: one container
    threads = [threading.Thread(target=call, args=(True,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert runtime.containers_started("pool") == 3  # concurrent: more containers


# -- moto internals the IAM gate and the Fargate play read (localcloud/aws_requests.py, iam.py) ------
def test_moto_answers_a_log_groups_arn_without_the_trailing_star_and_we_add_it():
    from moto.logs.models import LogGroup

    group = LogGroup("123456789012", "us-east-1", "/g")
    assert group.arn == "arn:aws:logs:us-east-1:123456789012:log-group:/g"
    with mock_aws(config=MOTO_CONFIG), moto_patches.installed(InProcessLambda()):
        assert group.get_cfn_attribute("Arn") == "arn:aws:logs:us-east-1:123456789012:log-group:/g:*"


def test_the_step_functions_interpreter_signs_with_its_literal_access_key():
    import inspect

    from moto.stepfunctions.parser.asl.utils import boto_client

    from localcloud.iam import STEP_FUNCTIONS_ACCESS_KEY

    assert f'aws_access_key_id="{STEP_FUNCTIONS_ACCESS_KEY}"' in inspect.getsource(boto_client.boto_client_for)


def test_the_resource_facts_the_authorisation_table_reads_from_moto(runtime):
    from localcloud.aws_requests import StackResources
    from localcloud.iam import role_principal

    kms = boto3.client("kms", region_name="us-east-1")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}],
    }
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]
    topic = boto3.client("sns", region_name="us-east-1").create_topic(
        Name="t", Attributes={"KmsMasterKeyId": key["KeyId"]}
    )["TopicArn"]
    boto3.client("dynamodb", region_name="us-east-1").create_table(
        TableName="h",
        AttributeDefinitions=[{"AttributeName": "ip", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "ip", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key["Arn"]},
    )
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="evidence-b")
    bucket_policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::evidence-b/*"}],
    }
    s3.put_bucket_policy(Bucket="evidence-b", Policy=json.dumps(bucket_policy))
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    inline = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps(inline))

    resources = StackResources("us-east-1")
    assert resources.kms_key(key["KeyId"]) == (key["Arn"], policy)
    assert resources.topic_key(topic) == key["KeyId"]
    assert resources.table_key("h") == key["Arn"]
    assert resources.bucket_policy("evidence-b") == bucket_policy
    assert role_principal(role).policies == (inline,)


ROLE_WITH_MANAGED_POLICY = {
    "Resources": {
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
            },
        }
    }
}


def _role_policies_after_stack(patched: bool) -> tuple:
    from localcloud.iam import role_principal

    config = {"iam": {"load_aws_managed_policies": True}}
    patch = role_managed_policies() if patched else contextlib.nullcontext()
    with mock_aws(config=config), patch:
        cfn = boto3.client("cloudformation", region_name=REGION)
        cfn.create_stack(StackName="roles", TemplateBody=json.dumps(ROLE_WITH_MANAGED_POLICY))
        [role] = boto3.client("iam", region_name=REGION).list_roles()["Roles"]
        return role_principal(role["Arn"]).policies


def test_moto_drops_a_cloudformation_roles_managed_policies_and_we_attach_them():
    assert _role_policies_after_stack(patched=False) == ()
    [basic_execution] = _role_policies_after_stack(patched=True)
    actions = {action for statement in basic_execution["Statement"] for action in statement["Action"]}
    assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions


def _racing_claims(rounds: int, threads: int = 8) -> list[int]:
    """Winners per round of ``threads`` racing "claim if unclaimed" conditional writes."""
    import sys
    import threading

    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="race",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    winners: list[int] = []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show
    try:
        for _round in range(rounds):
            client.delete_item(TableName="race", Key={"k": {"S": "slot"}})
            won: list[int] = []
            start = threading.Barrier(threads)

            def claim(n: int, won: list[int] = won, start: threading.Barrier = start) -> None:
                start.wait()
                try:
                    client.update_item(
                        TableName="race",
                        Key={"k": {"S": "slot"}},
                        UpdateExpression="SET claimedBy = :n",
                        ConditionExpression="attribute_not_exists(claimedBy)",
                        ExpressionAttributeValues={":n": {"N": str(n)}},
                    )
                    won.append(n)
                except client.exceptions.ConditionalCheckFailedException:
                    pass

            racers = [threading.Thread(target=claim, args=(n,)) for n in range(threads)]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join()
            winners.append(len(won))
    finally:
        sys.setswitchinterval(switch)
    return winners


def test_moto_lets_racing_conditional_writes_both_win():
    # The defect the adapter bridges: if moto ever serialises its writes, drop the adapter.
    with mock_aws():
        assert max(_racing_claims(30)) > 1


def test_dynamodb_conditional_writes_are_atomic_per_item(runtime):
    # DynamoDB evaluates a write's condition against the item as it is when the write applies;
    # of racing "claim if unclaimed" writes exactly one succeeds (the Shodan pacer relies on it).
    assert _racing_claims(30) == [1] * 30


def test_the_shodan_client_keeps_its_endpoint_in_base_url_which_the_local_cloud_routes():
    # handler_patches.routing_shodan_to sets base_url after the client's __init__; a shodan
    # release that kept its endpoint elsewhere would send the local cloud's lookups to Shodan.
    import importlib.metadata

    import shodan

    from localcloud.handler_patches import routing_shodan_to
    from localcloud.shodan_api import ShodanApiServer

    assert importlib.metadata.version("shodan") == "1.31.0"
    assert shodan.Shodan("k").base_url == "https://api.shodan.io"
    with ShodanApiServer(api_key="k") as server, routing_shodan_to(server.url):
        client = shodan.Shodan("k")
        assert client.base_url == server.url
        with pytest.raises(shodan.APIError, match="No information available"):
            client.host("192.0.2.1")
        assert client.labs.honeyscore  # the honeyscore goes through the same client and base_url
    assert [r.path for r in server.requests()] == ["/shodan/host/192.0.2.1"]
    assert shodan.Shodan("k").base_url == "https://api.shodan.io"  # routed only inside the block


def test_requests_hands_every_request_to_its_adapters_send_which_the_local_cloud_routes():
    # handler_patches.routing_internetdb_to rewrites InternetDB's URL in HTTPAdapter.send; a
    # requests release that sent through elsewhere would send the local cloud's lookups to the
    # internet (here: fail to resolve), and every other URL must pass through untouched.
    import importlib.metadata

    import requests

    from localcloud.handler_patches import INTERNETDB_ORIGIN, routing_internetdb_to
    from localcloud.shodan_api import ShodanApiServer

    assert importlib.metadata.version("requests") == "2.34.2"
    assert INTERNETDB_ORIGIN == "https://internetdb.shodan.io"
    with ShodanApiServer(api_key="k") as server, routing_internetdb_to(server.internetdb_url):
        session = requests.Session()
        assert type(session.get_adapter(INTERNETDB_ORIGIN + "/")) is requests.adapters.HTTPAdapter
        answer = session.get(f"{INTERNETDB_ORIGIN}/192.0.2.1", timeout=5)
        assert (answer.status_code, answer.json()) == (404, {"detail": "No information available"})
        assert session.get(f"{server.url}/shodan/host/192.0.2.1?key=k", timeout=5).status_code == 404
    assert [r.path for r in server.internetdb_requests()] == ["/192.0.2.1"]
    assert [r.path for r in server.requests()] == ["/shodan/host/192.0.2.1"]


def test_both_engines_routes_stack_on_the_adapters_send_and_censys_sees_the_bearer_header():
    # handler_patches.routing_censys_to patches HTTPAdapter.send again, inside InternetDB's routing
    # (the local cloud enters both): each must pass the other's requests through, and the request
    # must still carry the Authorization header the local Censys checks.
    import requests

    from localcloud.censys_api import CensysApiServer
    from localcloud.handler_patches import CENSYS_ORIGIN, routing_censys_to, routing_internetdb_to
    from localcloud.shodan_api import ShodanApiServer

    assert CENSYS_ORIGIN == "https://api.platform.censys.io"
    with (
        ShodanApiServer(api_key="k") as shodan,
        CensysApiServer(token="t") as censys,
        routing_internetdb_to(shodan.internetdb_url),
        routing_censys_to(censys.url),
    ):
        session = requests.Session()
        host = f"{CENSYS_ORIGIN}/v3/global/asset/host/192.0.2.1"
        assert session.get(host, timeout=5).status_code == 401  # no token
        assert session.get(host, headers={"Authorization": "Bearer x"}, timeout=5).status_code == 401
        found = session.get(host, headers={"Authorization": "Bearer t"}, timeout=5)
        assert (found.status_code, found.json()["status"]) == (404, 404)
        assert session.get("https://internetdb.shodan.io/192.0.2.1", timeout=5).status_code == 404
    assert [r.status for r in censys.requests()] == [401, 401, 404]
    assert [r.path for r in shodan.internetdb_requests()] == ["/192.0.2.1"]


# -- the attack-event pipeline (moto_patches/firehose.py, logs.py, glue.py, ec2.py, s3.py) ---------
def test_moto_cloudformation_lacks_the_pipelines_types_and_resolves_types_where_we_add_ours():
    from moto.cloudformation import parsing

    from localcloud.moto_patches import CLOUDFORMATION_MODELS

    missing = set(CLOUDFORMATION_MODELS) - set(parsing.get_model_map())
    assert missing == set(CLOUDFORMATION_MODELS)  # once moto has one, drop our model of it
    assert parsing.resource_class_from_type("AWS::Glue::Table") is None
    with mock_aws(config=MOTO_CONFIG), moto_patches.installed(InProcessLambda()):
        assert parsing.resource_class_from_type("AWS::Glue::Table") is CLOUDFORMATION_MODELS["AWS::Glue::Table"]


def _stream_to(bucket: str, **destination: object) -> str:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    config = {"BucketARN": f"arn:aws:s3:::{bucket}", "RoleARN": "arn:aws:iam::123456789012:role/f", **destination}
    boto3.client("firehose", region_name=REGION).create_delivery_stream(
        DeliveryStreamName="s", ExtendedS3DestinationConfiguration=config
    )
    return "s"


def test_moto_firehose_writes_records_raw_under_its_own_hour_folders():
    with mock_aws():
        _stream_to("raw", Prefix="events/year=!{timestamp:yyyy}/", CompressionFormat="GZIP")
        boto3.client("firehose", region_name=REGION).put_record_batch(
            DeliveryStreamName="s", Records=[{"Data": b"a"}, {"Data": b"b"}]
        )
        [obj] = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="raw")["Contents"]
        body = boto3.client("s3", region_name=REGION).get_object(Bucket="raw", Key=obj["Key"])["Body"].read()
    assert obj["Key"].startswith("events/year=!{timestamp:yyyy}/") and body == b"ab"  # no expression, no gzip


def test_firehose_delivery_decompresses_extracts_delimits_gzips_and_evaluates_the_prefix(runtime):
    import gzip
    from datetime import UTC, datetime

    processors = [
        {"Type": "Decompression", "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}]},
        {
            "Type": "CloudWatchLogProcessing",
            "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}],
        },
        {"Type": "AppendDelimiterToRecord"},
    ]
    boto3.client("iam").create_role(RoleName="f", AssumeRolePolicyDocument=json.dumps({"Statement": []}))
    _stream_to(
        "processed",
        Prefix="events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/",
        CompressionFormat="GZIP",
        ProcessingConfiguration={"Enabled": True, "Processors": processors},
    )
    batch = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "timestamp": 1, "message": '{"a": 1}'}] * 2}
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "0", "timestamp": 0, "message": "test"}]}
    records = [{"Data": gzip.compress(json.dumps(b).encode())} for b in (batch, control)]
    boto3.client("firehose", region_name=REGION).put_record_batch(DeliveryStreamName="s", Records=records)
    s3 = boto3.client("s3", region_name=REGION)
    [obj] = s3.list_objects_v2(Bucket="processed")["Contents"]
    now = datetime.now(UTC)
    assert obj["Key"].startswith(f"events/year={now:%Y}/month={now:%m}/s-1-") and obj["Key"].endswith(".gz")
    body = gzip.decompress(s3.get_object(Bucket="processed", Key=obj["Key"])["Body"].read())
    assert body == b'{"a": 1}\n{"a": 1}\n'


def test_moto_forwards_a_subscribed_log_groups_events_through_send_log_events_without_a_role():
    from moto.logs.models import LogStream

    assert "destination_arn" in LogStream._send_log_events.__code__.co_varnames
    with mock_aws():
        _stream_to("forwarded")
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="st")
        arn = "arn:aws:firehose:us-east-1:123456789012:deliverystream/s"
        logs.put_subscription_filter(
            logGroupName="g", filterName="f", filterPattern="", destinationArn=arn, roleArn="arn:aws:iam::1:role/none"
        )
        logs.put_log_events(logGroupName="g", logStreamName="st", logEvents=[{"timestamp": 1, "message": "m"}])
        [obj] = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="forwarded")["Contents"]
    assert obj["Key"]  # delivered although the role does not exist: nothing checks it


FLOW_LOG_TO_FOLDER = {
    "Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
                    ]
                }
            },
        },
        "FlowLog": {
            "Type": "AWS::EC2::FlowLog",
            "Properties": {
                "ResourceId": {"Ref": "Vpc"},
                "ResourceType": "VPC",
                "TrafficType": "ALL",
                "MaxAggregationInterval": 600,
                "LogDestinationType": "s3",
                "LogDestination": {"Fn::Sub": "${Bucket.Arn}/flow-logs/"},
                "DestinationOptions": {"FileFormat": "plain-text", "HiveCompatiblePartitions": True},
            },
        },
    }
}


def _flow_log_stack() -> tuple[list[dict], str | None]:
    cfn = boto3.client("cloudformation", region_name=REGION)
    try:
        cfn.create_stack(StackName="flow", TemplateBody=json.dumps(FLOW_LOG_TO_FOLDER))
    except Exception as error:  # moto's FlowLog indexes the flow log it did not create
        return [], type(error).__name__
    from localcloud.aws_requests import StackResources

    [bucket] = boto3.client("s3", region_name=REGION).list_buckets()["Buckets"]
    assert StackResources(REGION).bucket_key(bucket["Name"]) == (None, True)
    return boto3.client("ec2", region_name=REGION).describe_flow_logs()["FlowLogs"], None


def test_moto_creates_no_flow_log_for_an_s3_folder_and_drops_bucket_keys():
    from moto.s3.models import s3_backends

    with mock_aws():
        flow_logs, error = _flow_log_stack()
        assert flow_logs == [] and error is not None
        [bucket] = s3_backends["123456789012"]["global"].buckets.values()
        assert "BucketKeyEnabled" not in bucket.encryption["Rule"]


def test_flow_logs_go_to_s3_folders_with_their_options_and_bucket_keys_are_kept(runtime):
    from moto.ec2.models import ec2_backends

    flow_logs, error = _flow_log_stack()
    assert error is None
    [flow_log] = flow_logs
    assert flow_log["LogDestination"].endswith("/flow-logs/")
    [model] = ec2_backends["123456789012"][REGION].flow_logs.values()
    assert model.destination_options["HiveCompatiblePartitions"] is True


def test_glue_tables_from_cloudformation_keep_their_table_input(runtime):
    template = {
        "Resources": {
            "Db": {
                "Type": "AWS::Glue::Database",
                "Properties": {"CatalogId": "1", "DatabaseInput": {"Name": "Research"}},
            },
            "Table": {
                "Type": "AWS::Glue::Table",
                "Properties": {
                    "CatalogId": "1",
                    "DatabaseName": {"Ref": "Db"},
                    "TableInput": {"Name": "t", "Parameters": {"projection.enabled": "true"}},
                },
            },
        }
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(StackName="g", TemplateBody=json.dumps(template))
    table = boto3.client("glue", region_name=REGION).get_table(DatabaseName="research", Name="t")["Table"]
    assert table["Parameters"] == {"projection.enabled": "true"}


# -- function URLs (moto_patches/awslambda.py, localcloud/function_urls.py) --------------------------
def test_moto_keeps_cloudformations_url_permissions_raw_and_we_read_them_as_lambda_stores_them(runtime):
    from moto.awslambda.models import Permission
    from moto.awslambda.utils import get_backend

    from localcloud.function_urls import policy_statements, public_access_denial
    from localcloud.moto_patches.awslambda import FunctionUrlResource

    arn = _function("webhook")
    backend = get_backend("123456789012", REGION)
    function = next(f for f in backend._lambdas.latest() if f.function_arn == arn)
    created = FunctionUrlResource.create_from_cloudformation_json(
        "Url", {"Properties": {"TargetFunctionArn": "webhook", "AuthType": "NONE"}}, "123456789012", REGION
    )
    assert created.get_cfn_attribute("FunctionUrl") == f"{function.url_config.url}/"
    assert not function.url_config.url.endswith("/") and function.url_config.config["AuthType"] == "NONE"
    public = {"FunctionName": "webhook", "Principal": "*"}
    for properties in (
        {**public, "Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "NONE"},
        {**public, "Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": True},
    ):
        Permission.create_from_cloudformation_json("P", {"Properties": properties}, "123456789012", REGION)
    raw = function.policy.statements
    assert raw[0]["FunctionUrlAuthType"] == "NONE" and raw[1]["InvokedViaFunctionUrl"] is True  # moto: as sent
    statements = policy_statements(function)
    assert statements[0]["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}
    assert statements[1]["Condition"] == {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}
    assert public_access_denial(statements, arn) is None


class _FixedClock:
    def __init__(self, moment) -> None:
        self.moment = moment

    def time(self) -> float:
        return self.moment.timestamp()


def test_moto_stamps_entered_time_from_datetime_now_which_we_read_from_the_local_clouds_clock():
    from datetime import UTC, datetime

    from localcloud import clock
    from localcloud.moto_patches.stepfunctions import entered_time_on_the_wall_clock

    state = {"Type": "Pass", "Parameters": {"at.$": "$$.State.EnteredTime"}, "End": True}
    stamp = {"StartAt": "S", "States": {"S": state}}
    simulated = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    with mock_aws(config=MOTO_CONFIG), clock.reading(_FixedClock(simulated)):
        unpatched = json.loads(_run(stamp, "stamp-moto")["output"])["at"]
        with entered_time_on_the_wall_clock():
            patched = json.loads(_run(stamp, "stamp-local")["output"])["at"]
    assert abs((datetime.fromisoformat(unpatched) - datetime.now(UTC)).total_seconds()) < 60  # moto: real time
    assert datetime.fromisoformat(patched) == simulated


def _layer_and_permission_stack() -> dict:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="layers")
    s3.put_object(Bucket="layers", Key="l.zip", Body=b"PK\x05\x06" + b"\0" * 18)
    arn = _function("fn")
    template = {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {"Content": {"S3Bucket": "layers",
                                                                                      "S3Key": "l.zip"}}},
            "Allow": {
                "Type": "AWS::Lambda::Permission",
                "Properties": {"FunctionName": arn, "Action": "lambda:InvokeFunction",
                               "Principal": "events.amazonaws.com",
                               "SourceArn": f"arn:aws:events:{REGION}:123456789012:rule/r"},
            },
        },
        "Outputs": {"Layer": {"Value": {"Ref": "Layer"}}},
    }  # fmt: skip
    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName="layers", TemplateBody=json.dumps(template))
    resources = cfn.describe_stack_resources(StackName="layers")["StackResources"]
    outputs = cfn.describe_stacks(StackName="layers")["Stacks"][0].get("Outputs", [])
    policy = json.loads(boto3.client("lambda", region_name=REGION).get_policy(FunctionName="fn")["Policy"])
    return {"resources": resources, "outputs": outputs, "policy": policy}


def test_moto_gives_cloudformation_layer_versions_and_permissions_no_physical_id_and_we_do():
    with mock_aws(config=MOTO_CONFIG):
        bare = _layer_and_permission_stack()
    assert all("PhysicalResourceId" not in r for r in bare["resources"])
    # moto keeps the AddPermission request's FunctionName in the statement (authorizer.lambda_invoke_denial drops it).
    [statement] = bare["policy"]["Statement"]
    assert "FunctionName" in statement and statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(":rule/r")
    from localcloud.moto_patches.awslambda import cloudformation_layers_and_permissions

    with mock_aws(config=MOTO_CONFIG), cloudformation_layers_and_permissions():
        patched = _layer_and_permission_stack()
    ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in patched["resources"]}
    assert ids["Layer"].startswith(f"arn:aws:lambda:{REGION}:123456789012:layer:") and ids["Allow"]
    assert patched["outputs"][0]["OutputValue"] == ids["Layer"]


def test_moto_sts_finds_an_assumed_role_session_by_its_access_key():
    from moto.sts.models import sts_backends

    with mock_aws():
        answer = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn="arn:aws:iam::123456789012:role/signer", RoleSessionName="link", DurationSeconds=900
        )["Credentials"]
        session = sts_backends["123456789012"]["aws"].get_assumed_role_from_access_key(answer["AccessKeyId"])
    assert session.role_arn == "arn:aws:iam::123456789012:role/signer"
    assert (session.secret_access_key, session.session_token) == (answer["SecretAccessKey"], answer["SessionToken"])
    assert session.expiration.replace(tzinfo=answer["Expiration"].tzinfo) == answer["Expiration"]
