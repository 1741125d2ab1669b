"""The gate every AWS call of the local cloud passes before moto executes it.

Installed as two botocore handlers (``before-parameter-build`` keeps the call's parameters,
``before-call`` decides), so it sees every call from any boto3 client: the handlers', moto's
Step Functions interpreter's, the local ECS scheduler's. It

1. enforces request rules AWS applies and moto does not (``SERVICE_RULES``), for every caller;
2. authorises calls made by a principal of the stack (localcloud/iam.py) and answers a denied
   call exactly as AWS does, so the caller's error handling runs as it would on AWS;
3. answers an allowed call of a principal of the stack with the fault a test injected
   (``Authorizer.faults``): one of AWS's errors (throttling, a 5xx) or a partial answer (a batch's
   unprocessed items), as the caller's SDK would receive it. The local cloud's own calls (the ECS
   scheduler, a test reading S3) are never answered by a fault.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS

from localcloud.aws_requests import (
    LITERAL_STAR,
    ApiCall,
    StackResources,
    denied_error,
    key_requests,
    log_group_arn,
    log_stream_arn,
    requests_for,
)
from localcloud.constants import ACCOUNT_ID
from localcloud.iam import (
    STEP_FUNCTIONS_ACCESS_KEY,
    AuthRequest,
    Decision,
    Principal,
    Simulator,
    current_principal,
    service_principal,
    simulator,
)

# A call's parameters -> (HTTP status, the answer as the SDK parses it: an "Error" for >= 300).
Answer = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


def aws_error(code: str, message: str, status: int = 500) -> Answer:
    """An answer with AWS's error ``code`` (e.g. ``InternalFailure``, ``ThrottlingException``)."""
    return lambda _params: (status, {"Error": {"Code": code, "Message": message}})


@dataclass
class ApiFault:
    """AWS answering the stack's calls of ``service``:``operation`` with ``answer``."""

    service: str  # botocore's service name: "sns", "ecs", "ec2", "s3", "dynamodb"
    operation: str  # the API action: "Publish", "StopTask", "BatchGetItem"
    answer: Answer
    times: int | None = None  # the first ``times`` matching calls are answered, then AWS recovers
    by: str | None = None  # only calls of a principal whose ARN contains this (a role's name)
    calls: list[dict[str, Any]] = field(default_factory=list)  # every matching call's parameters

    @property
    def answered(self) -> int:
        return len(self.calls) if self.times is None else min(self.times, len(self.calls))


class Authorizer:
    def __init__(self, region: str, evaluator: Simulator | None = None) -> None:
        self.region = region
        self.resources = StackResources(region)
        self.evaluator = evaluator or simulator()
        self.step_functions: Principal | None = None  # the state machine's role
        self.denials: list[Decision] = []
        self.faults: list[ApiFault] = []
        self._lock = threading.Lock()

    def fault_for(self, principal: Principal, call: ApiCall) -> ApiFault | None:
        """The injected fault answering this allowed call, if any (the call is counted on it)."""
        with self._lock:
            for fault in self.faults:
                if (fault.service, fault.operation) != (call.service, call.operation):
                    continue
                if fault.by is not None and fault.by not in principal.arn:
                    continue
                fault.calls.append(dict(call.params))
                return fault if fault.times is None or len(fault.calls) <= fault.times else None
        return None

    def authorise(self, principal: Principal, call: ApiCall) -> Decision:
        """The first denied request of the call, or the last allowed one."""
        requests = requests_for(call, self.resources)
        assert requests, f"no authorisation request for {call.service}:{call.operation}"
        decision = self.first_denial(principal, requests)
        return decision or self.decide(principal, requests[-1])

    def first_denial(self, principal: Principal, requests: list[AuthRequest]) -> Decision | None:
        """The first of ``requests`` denied to ``principal``, or None when all are allowed."""
        for request in requests:
            decision = self.decide(principal, request)
            if not decision.allowed:
                return decision
        return None

    def decide(self, principal: Principal, request: AuthRequest) -> Decision:
        result = self.evaluator.evaluate(principal, request, literal_star=request.action in LITERAL_STAR)
        decision = Decision(result == "Allowed", result, request, principal)
        if not decision.allowed:
            with self._lock:
                self.denials.append(decision)
        return decision


# ---------------------------------------------------------------------------------------------
# Request rules AWS enforces and moto does not
# ---------------------------------------------------------------------------------------------
# SNS Publish, Subject: "must be ASCII text that begins with a letter, number, or punctuation
# mark; must not include line breaks or control characters; and must be less than 100
# characters long" (SNS API Reference, Publish).
_SNS_SUBJECT = re.compile(r"^[A-Za-z0-9!-/:-@\[-`{-~][ -~]{0,98}$")


def _sns_subject(call: ApiCall) -> str | None:
    subject = call.params.get("Subject")
    if subject is None or _SNS_SUBJECT.match(str(subject)):
        return None
    return "Invalid parameter: Subject"


# Role chaining: "if you assume a role using role chaining and provide a DurationSeconds parameter
# value greater than one hour, the operation fails" (STS API Reference, AssumeRole). Every
# principal of the stack calling STS is a role session.
ROLE_CHAINING_MAX_SECONDS = 3600


def _role_chaining(call: ApiCall) -> str | None:
    principal = current_principal()
    seconds = int(call.params.get("DurationSeconds", 3600))
    if principal is None or principal.is_service or seconds <= ROLE_CHAINING_MAX_SECONDS:
        return None
    return (
        f"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        f" ({seconds} s requested by a session of {principal.arn})"
    )


SERVICE_RULES: dict[tuple[str, str], tuple[Callable[[ApiCall], str | None], str, int]] = {
    ("sns", "Publish"): (_sns_subject, "InvalidParameter", 400),
    ("sts", "AssumeRole"): (_role_chaining, "ValidationError", 400),
}


# ---------------------------------------------------------------------------------------------
# botocore handlers
# ---------------------------------------------------------------------------------------------
_active: Authorizer | None = None
_PARAMS = "localcloud_api_params"


class _EmptyBody:
    def stream(self, **_kw: Any) -> Iterator[bytes]:
        yield b""


def _error(code: str, status: int, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    request_id = str(uuid.uuid4())
    http = AWSResponse("https://localcloud", status, {"x-amzn-requestid": request_id}, _EmptyBody())
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status, "HTTPHeaders": {}},
    }
    return http, parsed


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
    context[_PARAMS] = dict(params)


def _gate(model: Any, request_signer: Any, context: dict[str, Any], **_kw: Any) -> Any:
    authorizer = _active
    if authorizer is None:
        return None
    service = model.service_model.service_name
    call = ApiCall(service, model.name, context.get(_PARAMS, {}), context.get("client_region") or authorizer.region)
    rule = SERVICE_RULES.get((service, model.name))
    if rule is not None:
        violation = rule[0](call)
        if violation:
            return _error(rule[1], rule[2], violation)
    principal = current_principal()
    if principal is None:
        credentials = getattr(request_signer, "_credentials", None)
        if credentials is not None and credentials.access_key == STEP_FUNCTIONS_ACCESS_KEY:
            principal = authorizer.step_functions
            if principal is None:
                raise RuntimeError("a Step Functions call before the state machine's role was known")
    if principal is None:
        return None  # the account administrator (the local cloud itself)
    decision = authorizer.authorise(principal, call)
    if not decision.allowed:
        code, status = denied_error(service, via_kms=decision.request.action.startswith("kms:"))
        return _error(code, status, decision.message())
    fault = authorizer.fault_for(principal, call)
    if fault is None:
        return None
    status, answer = fault.answer(dict(call.params))
    if status >= 300:
        return _error(answer["Error"]["Code"], status, answer["Error"]["Message"])
    request_id = str(uuid.uuid4())
    http = AWSResponse("https://localcloud", status, {"x-amzn-requestid": request_id}, _EmptyBody())
    return http, {**answer, "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status, "HTTPHeaders": {}}}


_HANDLERS = [("before-parameter-build", _keep_params), ("before-call", _gate)]
for _handler in _HANDLERS:
    if _handler not in BUILTIN_HANDLERS:
        # Sessions created from now on (moto resets boto3's default session) carry the gate.
        BUILTIN_HANDLERS.append(_handler)


def active_authorizer() -> Authorizer | None:
    """The authorizer gating calls now, or None (moto used bare, as in the canary tests)."""
    return _active


@contextmanager
def gating(authorizer: Authorizer) -> Iterator[Authorizer]:
    """Authorise every call through ``authorizer`` for the duration of the block."""
    global _active
    saved, _active = _active, authorizer
    try:
        yield authorizer
    finally:
        _active = saved


# ---------------------------------------------------------------------------------------------
# Services using the stack's keys on their own behalf
# ---------------------------------------------------------------------------------------------
def _service_key_denial(
    authorizer: Authorizer, service: str, key_id: str | None, context: dict[str, str]
) -> Decision | None:
    """A service using a customer managed key on its own behalf, under the key's policy."""
    requests = key_requests(authorizer.resources, key_id, ("kms:GenerateDataKey", "kms:Decrypt"), context)
    return authorizer.first_denial(service_principal(service), requests)


def alarm_delivery_denial(authorizer: Authorizer, topic_arn: str) -> str | None:
    """A CloudWatch alarm publishes to an encrypted topic as ``cloudwatch.amazonaws.com``, which
    needs the topic's key by its key policy (SNS developer guide, "Enable compatibility between
    event sources from AWS services and encrypted topics"); otherwise the action fails silently."""
    key = authorizer.resources.topic_key(topic_arn)
    denial = _service_key_denial(authorizer, "cloudwatch.amazonaws.com", key, {"aws:SourceAccount": ACCOUNT_ID})
    return denial.message() if denial else None


def log_group_key_denial(authorizer: Authorizer, group_name: str, key_id: str) -> str | None:
    """CloudWatch Logs encrypts a log group's events itself, as ``logs.REGION.amazonaws.com``,
    with the log group's ARN as encryption context (``kms:EncryptionContext:aws:logs:arn``);
    the key policy must allow it, or creating the group fails (CloudWatch Logs user guide,
    "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    arn = log_group_arn(authorizer.region, group_name)
    service = f"logs.{authorizer.region}.amazonaws.com"
    denial = _service_key_denial(authorizer, service, key_id, {"kms:EncryptionContext:aws:logs:arn": arn})
    if denial is None:
        return None
    return (
        f"AccessDeniedException: The specified KMS key does not exist or is not allowed to be used with "
        f"Arn '{arn}' ({denial.message()})"
    )


def function_log_denial(authorizer: Authorizer, function: Principal, group_name: str) -> str | None:
    """Lambda writes a function's logs with the function's execution role (CreateLogStream,
    PutLogEvents on its log group); without them the function runs and its logs are silently
    lost (Lambda developer guide, "Sending Lambda function logs to CloudWatch Logs")."""
    stream = log_stream_arn(authorizer.region, group_name, "2026/01/01/[$LATEST]0123456789abcdef")
    requests = [AuthRequest(action, stream) for action in ("logs:CreateLogStream", "logs:PutLogEvents")]
    denial = authorizer.first_denial(function, requests)
    return denial.message() if denial else None


POLICY_ELEMENTS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)


def lambda_invoke_denial(authorizer: Authorizer, function_arn: str, policy: str, source_arn: str) -> str | None:
    """EventBridge invokes a Lambda target as ``events.amazonaws.com`` under the function's
    resource-based policy, from the rule's ARN (``aws:SourceArn``); without a statement allowing
    it the invocation fails (the rule's FailedInvocations) and the function never runs."""
    document = json.loads(policy)
    # moto leaves the AddPermission request's FunctionName in each statement; AWS's GetPolicy
    # answers policy elements only (a canary watches this).
    document["Statement"] = [{k: v for k, v in st.items() if k in POLICY_ELEMENTS} for st in document["Statement"]]
    request = AuthRequest(
        "lambda:InvokeFunction",
        function_arn,
        {"aws:SourceArn": source_arn, "aws:SourceAccount": ACCOUNT_ID},
        resource_policy=document,
    )
    denial = authorizer.first_denial(service_principal("events.amazonaws.com"), [request])
    return denial.message() if denial else None


def assume_role_denial(service: str, role_arn: str, context: dict[str, str]) -> str | None:
    """A service assuming a role of the stack on its own behalf (Firehose, CloudWatch Logs): the
    role's trust policy must allow ``sts:AssumeRole`` to the service with the context the
    service sends (``sts:ExternalId``, ``aws:SourceArn``); None when allowed or nothing gates."""
    authorizer = _active
    if authorizer is None:
        return None
    trust = authorizer.resources.trust_policy(role_arn)
    request = AuthRequest("sts:AssumeRole", role_arn, context, resource_policy=trust)
    decision = authorizer.first_denial(service_principal(service), [request])
    return decision.message() if decision else None


def flow_log_s3_prefix(destination: str, region: str, day: datetime, hive: bool) -> str:
    """Where VPC flow logs land in S3 for a day (VPC user guide, "Flow log files": ``AWSLogs/``,
    with ``HiveCompatiblePartitions`` as ``key=value`` folders)."""
    bucket_path = destination.split(":::", 1)[1]
    folder = bucket_path.split("/", 1)[1] if "/" in bucket_path else ""
    folder = folder if not folder or folder.endswith("/") else folder + "/"
    if hive:
        return (
            f"{folder}AWSLogs/aws-account-id={ACCOUNT_ID}/aws-service=vpcflowlogs/aws-region={region}/"
            f"year={day:%Y}/month={day:%m}/day={day:%d}/"
        )
    return f"{folder}AWSLogs/{ACCOUNT_ID}/vpcflowlogs/{region}/{day:%Y/%m/%d}/"


def flow_log_delivery_denial(authorizer: Authorizer, destination: str, hive: bool) -> str | None:
    """VPC flow logs are written to S3 by ``delivery.logs.amazonaws.com`` under the bucket policy
    (GetBucketAcl, then PutObject with the ``bucket-owner-full-control`` ACL) and, for a bucket
    encrypted with a customer managed key, the key policy (VPC user guide, "Amazon S3 bucket
    permissions for flow logs"). Nothing fails at creation when they do not allow it: the flow
    log's delivery status turns FAILED and the records are lost."""
    from localcloud.aws_requests import s3_key_context

    bucket = destination.split(":::", 1)[1].split("/", 1)[0]
    region = authorizer.region
    source = {"aws:SourceAccount": ACCOUNT_ID, "aws:SourceArn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:*"}
    day = datetime.now(UTC)
    key = flow_log_s3_prefix(destination, region, day, hive) + (
        f"{ACCOUNT_ID}_vpcflowlogs_{region}_fl-0123456789abcdef0_{day:%Y%m%dT%H%MZ}_0123abcd.log.gz"
    )
    policy = authorizer.resources.bucket_policy(bucket)
    tls = {"aws:SecureTransport": "true"}
    requests = [
        AuthRequest("s3:GetBucketAcl", f"arn:aws:s3:::{bucket}", {**source, **tls}, resource_policy=policy),
        AuthRequest(
            "s3:PutObject",
            f"arn:aws:s3:::{bucket}/{key}",
            {**source, **tls, "s3:x-amz-acl": "bucket-owner-full-control"},
            resource_policy=policy,
        ),
    ]
    key_id, context = s3_key_context(authorizer.resources, bucket, key)
    requests += key_requests(authorizer.resources, key_id, ("kms:GenerateDataKey",), {**source, **context})
    denial = authorizer.first_denial(service_principal("delivery.logs.amazonaws.com"), requests)
    return denial.message() if denial else None
