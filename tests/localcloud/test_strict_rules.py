"""The local cloud's AWS rules, unit by unit: the authorisation table, the IAM evaluator, Fargate.

Each rule is one AWS behaviour moto does not have (README, "What the local cloud enforces")."""

from __future__ import annotations

import pytest

from localcloud.aws_requests import ApiCall, StackResources, log_stream_arn, requests_for
from localcloud.fargate import TaskDefinitionRejected, UnknownImage, check_registration, image_facts, start_task
from localcloud.iam import (
    AuthRequest,
    Principal,
    UnmodelledOperation,
    literal_star_policies,
    resolve_encryption_context,
    simulator,
)

ACCOUNT = "123456789012"
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/honeynet"
GROUP = "/ics-honeynet/stack/conpot"


def policy(action: str, resource: str | list[str], condition: dict | None = None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def role(*policies: dict) -> Principal:
    return Principal(f"arn:aws:iam::{ACCOUNT}:role/r", tuple(policies))


# -- the table --------------------------------------------------------------------------------------
def test_list_tasks_is_authorised_against_star_scoped_by_the_cluster():
    [request] = requests_for(ApiCall("ecs", "ListTasks", {"cluster": "honeynet"}, "us-east-1"), StackResources("x"))
    assert request == AuthRequest("ecs:ListTasks", "*", {"ecs:cluster": CLUSTER})


def test_describe_tasks_is_one_request_per_task():
    call = ApiCall("ecs", "DescribeTasks", {"cluster": "honeynet", "tasks": ["a", "b"]}, "us-east-1")
    resources = [r.resource for r in requests_for(call, StackResources("x"))]
    assert resources == [
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/honeynet/a",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/honeynet/b",
    ]


def test_an_operation_missing_from_the_table_fails_loudly():
    with pytest.raises(UnmodelledOperation, match="ecs:RunTask is not in the local cloud's authorisation table"):
        requests_for(ApiCall("ecs", "RunTask", {}, "us-east-1"), StackResources("x"))


def test_ssm_parameter_arn_keeps_the_names_path():
    [request] = requests_for(ApiCall("ssm", "GetParameter", {"Name": "/a/b"}, "eu-central-1"), StackResources("x"))
    assert request.resource == f"arn:aws:ssm:eu-central-1:{ACCOUNT}:parameter/a/b"


# -- the evaluator ----------------------------------------------------------------------------------
def test_a_grant_on_the_log_groups_arn_plus_log_stream_matches_no_stream():
    # Fn::GetAtt LogGroup.Arn ends in ":*": appending ":log-stream:*" matches nothing.
    stream = AuthRequest("logs:CreateLogStream", log_stream_arn("us-east-1", GROUP, "conpot/conpot/t1"))
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{GROUP}"
    assert simulator().evaluate(role(policy("logs:CreateLogStream", f"{group_arn}:*:log-stream:*")), stream) == (
        "ImplicitlyDenied"
    )
    assert simulator().evaluate(role(policy("logs:CreateLogStream", f"{group_arn}:log-stream:*")), stream) == "Allowed"


def test_list_tasks_needs_a_grant_on_the_literal_star():
    request = AuthRequest("ecs:ListTasks", "*", {"ecs:cluster": CLUSTER})
    on_instances = role(policy("ecs:ListTasks", f"arn:aws:ecs:us-east-1:{ACCOUNT}:container-instance/honeynet/*"))
    scoped_star = role(policy("ecs:ListTasks", "*", {"ArnEquals": {"ecs:cluster": CLUSTER}}))
    other_cluster = role(policy("ecs:ListTasks", "*", {"ArnEquals": {"ecs:cluster": CLUSTER + "-other"}}))
    assert simulator().evaluate(on_instances, request, literal_star=True) == "ImplicitlyDenied"
    assert simulator().evaluate(scoped_star, request, literal_star=True) == "Allowed"
    assert simulator().evaluate(other_cluster, request, literal_star=True) == "ImplicitlyDenied"


def test_literal_star_keeps_only_allow_statements_on_star():
    mixed = policy("ecs:ListTasks", ["arn:aws:ecs:*:*:container-instance/*", "*"])
    [kept] = literal_star_policies((mixed,))
    assert kept["Statement"][0]["Resource"] == ["*"]
    [dropped] = literal_star_policies((policy("ecs:ListTasks", "arn:aws:ecs:*:*:container-instance/*"),))
    assert dropped["Statement"] == []


def test_a_kms_key_policy_is_a_resource_policy():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    only_cloudwatch = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
            }
        ],
    }
    request = AuthRequest("kms:Decrypt", key, resource_policy=only_cloudwatch)
    # The key policy does not delegate to IAM (no account root statement): the role's grant is not enough.
    assert simulator().evaluate(role(policy("kms:Decrypt", key)), request) == "ImplicitlyDenied"
    assert simulator().evaluate(Principal("cloudwatch.amazonaws.com"), request) == "Allowed"


LOGS = "logs.us-east-1.amazonaws.com"
LOGS_ENCRYPT = {
    "Effect": "Allow",
    "Principal": {"Service": LOGS},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
    "Resource": "*",
    "Condition": {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    },
}


def logs_request(group: str) -> AuthRequest:
    context = {
        "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}",
        "aws:SourceAccount": ACCOUNT,
    }
    key_policy = {"Version": "2012-10-17", "Statement": [LOGS_ENCRYPT]}
    return AuthRequest("kms:GenerateDataKey", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k", context, key_policy)


def test_cloudwatch_logs_may_use_a_key_only_for_the_log_groups_its_encryption_context_names():
    # iam-simulate alone ignores kms:EncryptionContext:* keys (and so denies both).
    assert simulator().evaluate(Principal(LOGS), logs_request("/aws/lambda/f")) == "Allowed"
    assert simulator().evaluate(Principal(LOGS), logs_request("/ics-honeynet/stack/conpot")) == "ImplicitlyDenied"


def test_an_encryption_context_clause_is_resolved_and_the_rest_of_the_condition_kept():
    context = {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/f"}
    policy = {"Version": "2012-10-17", "Statement": [LOGS_ENCRYPT]}
    [kept] = resolve_encryption_context(policy, context)["Statement"]
    assert kept["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    other = {"kms:encryptioncontext:aws:logs:arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/x"}
    assert resolve_encryption_context(policy, other)["Statement"] == []
    # A statement without such a clause is untouched, whatever the context.
    plain = {
        "Version": "2012-10-17",
        "Statement": [{**LOGS_ENCRYPT, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}],
    }
    assert resolve_encryption_context(plain, other) == plain


def test_lambda_writes_a_functions_logs_with_the_functions_role():
    from localcloud.authorizer import Authorizer, function_log_denial

    basic_execution = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    }
    authorizer = Authorizer("us-east-1")
    assert function_log_denial(authorizer, role(basic_execution), "/aws/lambda/f") is None
    denied = function_log_denial(authorizer, role(policy("logs:PutLogEvents", "*")), "/aws/lambda/f")
    assert denied is not None and "logs:CreateLogStream" in denied


# -- Fargate ----------------------------------------------------------------------------------------
def container(name: str, **extra: object) -> dict:
    # T-Pot's image starts Conpot with --template "$CONPOT_TEMPLATE": a stock template here.
    environment = [{"name": "CONPOT_TEMPLATE", "value": "default"}]
    return {"name": name, "image": "ghcr.io/telekom-security/conpot:24.04.1", "environment": environment, **extra}


MOUNTS = [
    {"sourceVolume": "tmp", "containerPath": "/tmp/conpot"},
    {"sourceVolume": "log", "containerPath": "/var/log/conpot"},
]
VOLUMES = [{"name": "tmp"}, {"name": "log"}]
INIT = container(
    "init",
    user="0",
    essential=False,
    entryPoint=["/bin/sh", "-c"],
    command=["chown 2000:2000 /tmp/conpot /var/log/conpot"],
    mountPoints=MOUNTS,
)


def allow_logs(_group: str, _stream: str) -> None:
    return None


def test_fargate_refuses_tmpfs_and_containers_larger_than_the_task():
    with pytest.raises(TaskDefinitionRejected, match="tmpfs is not supported on Fargate"):
        check_registration({"containerDefinitions": [container("c", linuxParameters={"tmpfs": [{"size": 64}]})]})
    with pytest.raises(TaskDefinitionRejected, match=r"memory \(576 MiB\) is more than the task's memory \(512 MiB\)"):
        check_registration(
            {"memory": "512", "containerDefinitions": [container("a", memory=512), container("b", memory=64)]}
        )


def test_conpot_cannot_write_root_owned_volumes():
    conpot = container("conpot", readonlyRootFilesystem=True, mountPoints=MOUNTS)
    outcome = start_task({"containerDefinitions": [conpot], "volumes": VOLUMES}, "t1", allow_logs)
    assert not outcome.running
    assert outcome.stopped_reason == (
        "Essential container in task exited: conpot: PermissionError: [Errno 13] Permission denied: '/tmp/conpot'"
    )


def test_a_root_init_container_makes_the_volumes_conpots():
    conpot = container(
        "conpot",
        readonlyRootFilesystem=True,
        mountPoints=MOUNTS,
        dependsOn=[{"containerName": "init", "condition": "SUCCESS"}],
    )
    outcome = start_task({"containerDefinitions": [conpot, INIT], "volumes": VOLUMES}, "t1", allow_logs)
    assert (outcome.running, dict(outcome.exit_codes)) == (True, {"init": 0})


def test_an_init_container_that_is_not_root_fails_and_conpot_never_starts():
    init = {**INIT, "user": "2000"}
    conpot = container("conpot", mountPoints=MOUNTS, dependsOn=[{"containerName": "init", "condition": "SUCCESS"}])
    outcome = start_task({"containerDefinitions": [init, conpot], "volumes": VOLUMES}, "t1", allow_logs)
    assert (
        outcome.stopped_reason
        == "CannotStartContainerError: container conpot depends on init (SUCCESS), which exited 1"
    )


def test_an_essential_init_container_stops_the_task_when_it_exits():
    outcome = start_task({"containerDefinitions": [{**INIT, "essential": True}], "volumes": VOLUMES}, "t1", allow_logs)
    assert outcome.stopped_reason == "Essential container in task exited: init: exited 0"


def test_awslogs_without_permission_fails_the_task_before_any_container_runs():
    logged = container(
        "conpot",
        logConfiguration={
            "logDriver": "awslogs",
            "options": {"awslogs-group": GROUP, "awslogs-stream-prefix": "conpot"},
        },
    )
    seen: list[tuple[str, str]] = []

    def denied(group: str, stream: str) -> str:
        seen.append((group, stream))
        return "AccessDeniedException: not authorized"

    outcome = start_task({"containerDefinitions": [logged]}, "t1", denied)
    assert seen == [(GROUP, "conpot/conpot/t1")]
    assert outcome.stopped_reason.startswith("ResourceInitializationError: failed to validate logger args")
    assert outcome.stopped_reason.endswith("AccessDeniedException: not authorized")


def test_what_the_local_cloud_knows_of_an_image_is_in_one_place():
    assert image_facts("dtagdevsec/conpot:24.04.1") is image_facts("ghcr.io/telekom-security/conpot@sha256:" + "a" * 64)
    assert image_facts("dtagdevsec/conpot:24.04.1").user == "2000"
    with pytest.raises(UnknownImage, match="does not know image nginx:latest"):
        image_facts("nginx:latest")


# -- function URLs (localcloud/function_urls.py) -----------------------------------------------------
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:webhook"
URL_ALLOW = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunctionUrl",
    "Resource": FUNCTION,
    "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
}
INVOKE_ALLOW = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunction",
    "Resource": FUNCTION,
    "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
}


def test_a_public_function_url_needs_both_invoke_permissions_since_october_2025():
    from localcloud.function_urls import public_access_denial

    assert public_access_denial([URL_ALLOW, INVOKE_ALLOW], FUNCTION) is None
    assert public_access_denial([URL_ALLOW], FUNCTION) == (
        "the function's policy does not allow lambda:InvokeFunction to the public (via its function URL)"
    )
    assert "lambda:InvokeFunctionUrl" in (public_access_denial([INVOKE_ALLOW], FUNCTION) or "")
    # Granted to one account, not to the public; or for AWS_IAM URLs only: not public access.
    account = {**URL_ALLOW, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
    iam_only = {**URL_ALLOW, "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}}
    assert public_access_denial([account, INVOKE_ALLOW], FUNCTION) is not None
    assert public_access_denial([iam_only, INVOKE_ALLOW], FUNCTION) is not None
    denied = public_access_denial([URL_ALLOW, INVOKE_ALLOW, {**INVOKE_ALLOW, "Effect": "Deny"}], FUNCTION)
    assert denied is not None and "denies" in denied


# -- CloudFormation parameters ----------------------------------------------------------------------
def test_parameters_are_resolved_and_checked_as_cloudformation_does():
    from localcloud.stack import DeployError, parameter_values

    declared = {
        "Templates": {"Type": "CommaDelimitedList", "Default": "default", "AllowedValues": ["default", "ipmi"]},
        "Seed": {"Type": "String", "Default": "", "AllowedPattern": "^[a-z]{0,8}$"},
        "Email": {"Type": "String"},
    }
    assert parameter_values(declared, {"Templates": "ipmi , default"}) == {"Templates": ["ipmi", "default"], "Seed": ""}
    assert parameter_values(declared, {})["Templates"] == ["default"]  # a defaulted list is a list too
    with pytest.raises(DeployError, match="Parameter 'Templates' must be one of AllowedValues"):
        parameter_values(declared, {"Templates": "default,IEC104"})
    with pytest.raises(DeployError, match=r"Parameter 'Seed' must match pattern \^\[a-z\]\{0,8\}\$"):
        parameter_values(declared, {"Seed": "Not-Allowed"})


def test_list_membership_conditions_evaluate_as_cloudformation_evaluates_them():
    from localcloud.stack import DeployError, _evaluate_condition

    listed = {"Fn::Join": ["", ["|", {"Fn::Join": ["|", {"Ref": "T"}]}, "|"]]}
    serves_ipmi = {"Fn::Not": [{"Fn::Equals": [{"Fn::Select": [0, {"Fn::Split": ["|ipmi|", listed]}]}, listed]}]}
    assert _evaluate_condition(serves_ipmi, {}, {"T": ["default", "ipmi"]}) is True
    assert _evaluate_condition(serves_ipmi, {}, {"T": ["default", "ipmi2"]}) is False
    beyond = {"Fn::Equals": [{"Fn::Select": [3, {"Fn::Split": [",", "a,b"]}]}, "x"]}
    with pytest.raises(DeployError, match="Fn::Select cannot select nonexistent value at index 3"):
        _evaluate_condition(beyond, {}, {})
