"""The small adapters that turn embedded moto into a cloud the real stack can run in.

moto 5.2.5 gets us most of the way: CloudFormation, ECS/EC2/S3/SNS/SSM/DynamoDB and a real
Step Functions interpreter. Each gap it leaves is bridged here by one documented patch, and
each patch has a canary test (tests/integration/test_adapters_canary.py) so that a moto
upgrade which changes the patched internals fails loudly instead of silently.

- ``in-process Lambda``: moto's docker-free Lambda backend returns a canned payload. We call
  the real handler instead, in this process, and turn an unhandled exception into a Lambda
  *function error* (``X-Amz-Function-Error: Unhandled`` and ``errorType``) so that the ASL's
  Retry/Catch match on the exception's class name, exactly as on AWS.
- ``aws-sdk PascalCase``: Step Functions' ``aws-sdk:*`` integrations take PascalCase parameters
  (``Cluster``, ``Task``) and answer PascalCase (``Task.TaskArn``); moto's interpreter left
  the normalisation hooks empty. We fill them with the botocore shape-driven converters the
  interpreter already ships.
- ``time scale``: Retry and Wait intervals really sleep in moto. The ASL keeps intervals that
  are right for AWS; the local cloud multiplies every sleep by a factor (and says so).
- ``CloudFormation state machines``: moto's CloudFormation creates state machines in the plain
  Step Functions backend, while the API (with execution on) serves the interpreter's backend,
  so a stack's state machine would be invisible. We point CloudFormation at the interpreter's.
- ``VPC DNS attributes``: moto's ``AWS::EC2::VPC`` ignores ``EnableDnsHostnames`` and
  ``EnableDnsSupport`` (and moto's Fargate tasks need DNS hostnames to build their ENI). We
  apply both after the VPC is created.
- ``S3 bucket policy conditions``: moto's condition check does not evaluate ``Bool`` and
  treats a statement whose condition fails as DENY, so the template's TLS-only
  ``Deny if aws:SecureTransport=false`` denies every request. On AWS a statement whose
  condition does not hold does not apply. We evaluate conditions ourselves (the operators
  bucket policies here use) with the request context of an AWS SDK call over TLS.
- ``ECS in CloudFormation``: moto's ``AWS::ECS::TaskDefinition`` keeps only family, containers,
  volumes and memory, and ``AWS::ECS::Service`` only cluster, task definition and count. We
  pass every property the ECS API takes (network mode, CPU, roles, runtime platform; launch
  type, network configuration, tags), so the deployed honeynet is the one the template says.
- ``ECS task state``: moto's default "immediate" state progression turns a RUNNING task into
  STOPPED the first time anything looks at it. We pin tasks: they stay as set.
- ``Fn::GetAtt LogGroup.Arn``: CloudFormation answers ``arn:...:log-group:NAME:*`` (the
  AWS::Logs::LogGroup return values); moto answers without the trailing ``:*``, which hides a
  grant such as ``${LogGroup.Arn}:log-stream:*`` that matches no stream on AWS. We answer as
  CloudFormation does. moto's ``AWS::Logs::LogGroup`` also drops ``KmsKeyId`` (it reads the API's
  ``kmsKeyId``); we keep it, so ``DescribeLogGroups`` shows the key as on AWS.
- ``ECS ListTasks(serviceName)``: moto ignores the filter; we filter on the task group
  ``service:<name>``, which is how ECS labels a service's tasks.
- ``DynamoDB conditional writes``: DynamoDB applies each write to an item atomically, its
  condition evaluated against the item as it is then; moto's backend evaluates and writes
  without a lock, so two concurrent conditional writes can both succeed (the Shodan pacer's
  slot would go to two checks). We serialise moto's item writes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import moto

from localcloud.fargate import check_registration
from localcloud.functions import writing_to
from localcloud.iam import Principal, acting_as

EXPECTED_MOTO_VERSION = "5.2.5"

log = logging.getLogger("localcloud")


class MotoVersionMismatch(RuntimeError):
    pass


def check_moto_version() -> None:
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        raise MotoVersionMismatch(
            f"the local cloud patches moto {EXPECTED_MOTO_VERSION} internals but moto {moto.__version__} "
            "is installed; run the adapter canary tests and update localcloud/adapters.py before pinning it."
        )


# ---------------------------------------------------------------------------------------------
# In-process Lambda
# ---------------------------------------------------------------------------------------------
@dataclass
class LocalLambdaContext:
    """What a handler sees as ``context`` (the attributes Powertools reads)."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "localcloud"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function_name: str
    event: Any
    started: float
    duration: float
    error_type: str | None


Handler = Callable[[Any, Any], Any]
# Handler CPU time is not scaled by the time scale, and moto's emulated APIs cost far more CPU
# than AWS's (a 1,200-task listing takes seconds here); this much real time is added to the
# scaled Timeout before an invocation counts as timed out.
CPU_ALLOWANCE_SECONDS = 10.0


class InProcessLambda:
    """Maps deployed function names to real handlers and records every invocation.

    Like Lambda, it keeps warm containers: an invocation takes an idle container of its
    function (or starts one) and gives it back when done. Sequential invocations share one
    container (its cached clients, the Shodan client's pacing); concurrent ones get their own.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        # Lambda ends an invocation at the function's Timeout (Sandbox.Timedout). Locally every
        # wait is scaled by ``time_scale``; CPU time is not, so a fixed allowance is added.
        self.time_scale = time_scale
        self.cpu_allowance = CPU_ALLOWANCE_SECONDS
        self._functions: dict[str, tuple[Callable[[int], Handler], Any]] = {}
        self._principals: dict[str, Principal | None] = {}
        self._idle: dict[str, list[Handler]] = {}
        self._started: dict[str, int] = {}
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()

    def register(
        self,
        function_name: str,
        handler: Handler | Callable[[int], Handler],
        log: Any = None,
        principal: Principal | None = None,
    ) -> None:
        """``handler``: the handler, or a factory ``container number -> handler`` (one module copy
        per container); ``log``: a FunctionLog that receives what the handler prints;
        ``principal``: the function's execution role, whose policies authorise its AWS calls."""
        factory = handler if getattr(handler, "is_container_factory", False) else (lambda _n, h=handler: h)
        self._functions[function_name] = (factory, log)  # type: ignore[assignment]
        self._principals[function_name] = principal
        self._idle[function_name] = []
        self._started[function_name] = 0

    def containers_started(self, function_name: str) -> int:
        return self._started.get(function_name, 0)

    def _acquire(self, function_name: str) -> Handler:
        with self._lock:
            if self._idle[function_name]:
                return self._idle[function_name].pop()
            number = self._started[function_name]
            self._started[function_name] += 1
        return self._functions[function_name][0](number)

    def _release(self, function_name: str, handler: Handler) -> None:
        with self._lock:
            self._idle[function_name].append(handler)

    def invoke(self, fn: Any, body: bytes | str | None) -> tuple[bytes, str | None]:
        """Run the handler of moto's function ``fn``; return (payload, function error or None)."""
        if fn.function_name not in self._functions:
            raise KeyError(f"no in-process handler registered for Lambda function {fn.function_name}")
        log = self._functions[fn.function_name][1]
        handler = self._acquire(fn.function_name)
        raw = body.decode() if isinstance(body, bytes) else (body or "{}")
        event = json.loads(raw) if raw.strip() else {}
        context = LocalLambdaContext(
            function_name=fn.function_name,
            memory_limit_in_mb=int(fn.memory_size or 128),
            timeout_seconds=int(fn.timeout or 3),
            invoked_function_arn=fn.function_arn,
        )
        started = time.monotonic()
        error_type = None
        try:
            with writing_to(log), acting_as(self._principals.get(fn.function_name)):
                try:
                    result = handler(event, context)
                finally:
                    self._release(fn.function_name, handler)
            payload = json.dumps(result).encode()
            limit = context.timeout_seconds * self.time_scale + self.cpu_allowance
            if time.monotonic() - started > limit:
                # Lambda would have ended the invocation at its Timeout; what it wrote so far stays.
                error_type = "Sandbox.Timedout"
                message = f"Task timed out after {context.timeout_seconds:.2f} seconds"
                payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        except Exception as exc:
            # What the Lambda runtime answers for an unhandled exception.
            error_type = type(exc).__name__
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": error_type,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        with self._lock:
            self.invocations.append(
                Invocation(fn.function_name, event, started, time.monotonic() - started, error_type)
            )
        return payload, ("Unhandled" if error_type else None)


def _patch_lambda_invoke(runtime: InProcessLambda) -> contextlib.AbstractContextManager[Any]:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        payload, function_error = runtime.invoke(fn, body)
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        return payload

    return _patch_attr(LambdaSimpleBackend, "invoke", invoke)


# ---------------------------------------------------------------------------------------------
# aws-sdk integrations: PascalCase in, PascalCase out
# ---------------------------------------------------------------------------------------------
_operation_models: dict[tuple[str, str], Any] = {}


def _operation_model(service_name: str, snake_action: str) -> Any:
    key = (service_name, snake_action)
    if key not in _operation_models:
        import botocore.session
        from botocore import xform_name

        model = botocore.session.get_session().get_service_model(service_name)
        for op_name in model.operation_names:
            if xform_name(op_name) == snake_action:
                _operation_models[key] = model.operation_model(op_name)
                break
        else:
            raise ValueError(f"{service_name} has no API action {snake_action}")
    return _operation_models[key]


def _patch_aws_sdk_normalisation() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def normalise_parameters(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if op.input_shape is not None:
            self._to_boto_request(parameters, op.input_shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    stack = contextlib.ExitStack()
    stack.enter_context(_patch_attr(StateTaskServiceAwsSdk, "_normalise_parameters", normalise_parameters))
    stack.enter_context(_patch_attr(StateTaskServiceAwsSdk, "_normalise_response", normalise_response))
    return stack


# ---------------------------------------------------------------------------------------------
# Time scale for Retry and Wait
# ---------------------------------------------------------------------------------------------
class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: only ``sleep`` is scaled."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _patch_time_scale(scale: float) -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        # The original re-waits the remainder after an interrupt, measured in whole seconds;
        # a scaled wait is short, so one interruptible wait is enough.
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * scale)

    stack = contextlib.ExitStack()
    stack.enter_context(_patch_attr(retrier_decl, "time", _ScaledTime(scale)))
    stack.enter_context(_patch_attr(WaitFunction, "_wait_interval", wait_interval))
    return stack


# ---------------------------------------------------------------------------------------------
# CloudFormation -> the Step Functions backend that executes
# ---------------------------------------------------------------------------------------------
def _route_cfn_state_machines_to_interpreter() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return _patch_attr(models, "stepfunctions_backends", stepfunctions_parser_backends)


# ---------------------------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------------------------
def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase keys to the ECS API's camelCase."""
    if isinstance(node, dict):
        return {key[:1].lower() + key[1:]: _camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


def _patch_ecs_cloudformation() -> contextlib.AbstractContextManager[Any]:
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends

    def create_task_definition(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        check_registration(
            {"containerDefinitions": _camel(props.get("ContainerDefinitions", [])), "memory": props.get("Memory")}
        )
        return ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family", resource_name),
            container_definitions=_camel(props.get("ContainerDefinitions", [])),
            volumes=_camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            tags=_camel(props.get("Tags")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_camel(props.get("RuntimePlatform")),
            ephemeral_storage=_camel(props.get("EphemeralStorage")),
        )

    def create_service(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        cluster = props["Cluster"].name if isinstance(props["Cluster"], Cluster) else props["Cluster"]
        task_definition = props["TaskDefinition"]
        if isinstance(task_definition, TaskDefinition):
            task_definition = task_definition.arn
        return ecs_backends[account_id][region_name].create_service(
            cluster,
            props.get("ServiceName", resource_name),
            int(props.get("DesiredCount", 0)),
            task_definition_str=task_definition,
            tags=_camel(props.get("Tags")),
            launch_type=props.get("LaunchType", "FARGATE"),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags", "NONE"),
            network_configuration=_camel(props.get("NetworkConfiguration")),
        )

    stack = contextlib.ExitStack()
    stack.enter_context(
        _patch_attr(TaskDefinition, "create_from_cloudformation_json", classmethod(create_task_definition))
    )
    stack.enter_context(_patch_attr(Service, "create_from_cloudformation_json", classmethod(create_service)))
    return stack


# What every AWS SDK call of the stack looks like to a policy condition.
SDK_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """IAM condition evaluation for the operators our policies use; anything else is an error."""
    import fnmatch

    for operator, clauses in condition.items():
        for key, expected in clauses.items():
            wanted = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = context.get(key)
            if actual is None:
                return False
            if operator == "Bool":
                ok = actual.lower() in (w.lower() for w in wanted)
            elif operator in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif operator == "StringNotEquals":
                ok = actual not in wanted
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                raise NotImplementedError(f"the local cloud cannot evaluate IAM condition operator {operator}")
            if not ok:
                return False
    return True


def _patch_bucket_policy_conditions() -> contextlib.AbstractContextManager[Any]:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        result = PermissionResult.NEUTRAL
        for statement in statements if isinstance(statements, list) else [statements]:
            if "Condition" in statement:
                if not condition_holds(statement["Condition"], SDK_REQUEST_CONTEXT):
                    continue  # the statement does not apply to this request
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            outcome = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if outcome == PermissionResult.DENIED:
                return outcome
            if outcome == PermissionResult.PERMITTED:
                result = outcome
        return result

    return _patch_attr(FakeBucket, "get_permission", get_permission)


def _patch_vpc_dns_attributes() -> contextlib.AbstractContextManager[Any]:
    from moto.ec2.models.vpcs import VPC

    original = VPC.create_from_cloudformation_json.__func__

    def create_vpc(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        vpc = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        props = cloudformation_json["Properties"]
        vpc.enable_dns_hostnames = str(props.get("EnableDnsHostnames", False)).lower() == "true"
        vpc.enable_dns_support = str(props.get("EnableDnsSupport", True)).lower() == "true"
        return vpc

    return _patch_attr(VPC, "create_from_cloudformation_json", classmethod(create_vpc))


@contextlib.contextmanager
def _pin_ecs_task_state() -> Iterator[None]:
    from moto.moto_api import state_manager

    # "manual" with an unreachable tick count: a task's status changes only when set.
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 2**31})
    try:
        yield
    finally:
        state_manager.unset_transition("ecs::task")


def _patch_ecs_list_tasks_by_service() -> contextlib.AbstractContextManager[Any]:
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.list_tasks

    def list_tasks(
        self: Any,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,
    ) -> list[Any]:
        tasks = original(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name}"]
        return tasks

    return _patch_attr(EC2ContainerServiceBackend, "list_tasks", list_tasks)


def _patch_log_group_arn_attribute() -> contextlib.AbstractContextManager[Any]:
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> str:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" else value

    create = LogGroup.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        group = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        group.kms_key_id = group.kms_key_id or cloudformation_json["Properties"].get("KmsKeyId")
        return group

    stack = contextlib.ExitStack()
    stack.enter_context(_patch_attr(LogGroup, "get_cfn_attribute", get_cfn_attribute))
    stack.enter_context(
        _patch_attr(LogGroup, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
    )
    return stack


def _serialise_dynamodb_item_writes() -> contextlib.AbstractContextManager[Any]:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    stack = contextlib.ExitStack()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def serialised(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        stack.enter_context(_patch_attr(DynamoDBBackend, name, serialised))
    return stack


# ---------------------------------------------------------------------------------------------
def _patch_attr(owner: Any, name: str, value: Any) -> contextlib.AbstractContextManager[Any]:
    from unittest import mock

    if not hasattr(owner, name):
        raise MotoVersionMismatch(f"moto internals changed: {owner!r} has no attribute {name!r}")
    return mock.patch.object(owner, name, value)


@contextlib.contextmanager
def installed(runtime: InProcessLambda, time_scale: float = 1.0) -> Iterator[None]:
    """Install every adapter for the duration of the block."""
    check_moto_version()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_patch_lambda_invoke(runtime))
        stack.enter_context(_patch_aws_sdk_normalisation())
        stack.enter_context(_patch_time_scale(time_scale))
        stack.enter_context(_route_cfn_state_machines_to_interpreter())
        stack.enter_context(_patch_vpc_dns_attributes())
        stack.enter_context(_patch_bucket_policy_conditions())
        stack.enter_context(_patch_ecs_cloudformation())
        stack.enter_context(_pin_ecs_task_state())
        stack.enter_context(_patch_ecs_list_tasks_by_service())
        stack.enter_context(_patch_log_group_arn_attribute())
        stack.enter_context(_serialise_dynamodb_item_writes())
        yield
