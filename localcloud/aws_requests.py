"""How AWS authorises each API call the stack makes: one explicit table.

``requests_for(call, resources)`` turns a call (service, operation, parameters) into the
authorisation requests AWS evaluates for it: the action, the resource ARN (or the literal ``*``
for calls without resource-level permissions), the condition keys AWS sets (``ecs:cluster``,
``kms:ViaService``, ``aws:SecureTransport``) and the resource's own policy. Encrypted resources
add the KMS requests the service makes on the caller's behalf. Sources, per row:

- ECS: Service Authorization Reference (SAR) "Amazon ECS"; ListTasks without a container
  instance is authorised against ``*`` with ``ecs:cluster`` (shared/reference, IAM facts).
- EC2 DescribeNetworkInterfaces: SAR "Amazon EC2", no resource types (``*`` only).
- S3 GetObject/PutObject: SAR "Amazon S3", object ARN; the bucket policy applies
  (``aws:SecureTransport`` true: every SDK call is TLS). A bucket whose default encryption is a
  customer managed key adds the KMS request S3 makes with the caller's identity
  (``kms:ViaService`` s3, the encryption context of ``s3_key_context``): GenerateDataKey to
  write, Decrypt to read; under the AWS managed key ``aws/s3`` (whose key policy admits every
  principal of the account via S3) none is added.
- Firehose PutRecord/PutRecordBatch: SAR "Amazon Data Firehose", the delivery stream ARN.
- SSM GetParameter: SAR "AWS Systems Manager", ``parameter/NAME`` (the name's leading ``/``
  belongs to it); SecureStrings under the default ``aws/ssm`` key need no KMS grant.
- DynamoDB with a customer managed key: DynamoDB developer guide, "Encryption at rest: how it
  works" - the caller needs the key via DynamoDB (``kms:ViaService``): Decrypt to read,
  GenerateDataKey to write.
- SNS Publish to a topic encrypted with a customer managed key: SNS developer guide
  "Encryption at rest" - the publisher needs ``kms:GenerateDataKey`` and ``kms:Decrypt``.
- Lambda Invoke: SAR "AWS Lambda", the function ARN.
- Step Functions StartExecution: SAR "AWS Step Functions", the state machine ARN.
- CloudWatch Logs CreateLogStream/PutLogEvents: SAR "Amazon CloudWatch Logs", the log-stream
  ARN ``log-group:NAME:log-stream:STREAM``.
- S3 ListObjectsV2: SAR "Amazon S3", ``s3:ListBucket`` on the bucket ARN with ``s3:prefix``.
- DynamoDB Scan: as the other DynamoDB reads (``kms:Decrypt`` via DynamoDB under a customer key).
- STS AssumeRole: SAR "AWS STS", the role ARN; the role's trust policy is the resource policy
  (IAM user guide, "Policy evaluation logic": a trust policy must allow the caller explicitly).

A principal calling an operation missing here raises ``UnmodelledOperation``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.constants import ACCOUNT_ID
from localcloud.iam import AuthRequest, UnmodelledOperation


@dataclass(frozen=True)
class ApiCall:
    service: str  # botocore's service name: ecs, s3, sns, ...
    operation: str  # the API operation: ListTasks, PutObject, ...
    params: Mapping[str, Any]
    region: str


class StackResources:
    """What the table needs to know about resources (their keys and policies), read from moto's
    backends directly so that the lookups are not themselves authorised calls."""

    def __init__(self, region: str) -> None:
        self.region = region

    def kms_key(self, key_id: str) -> tuple[str, dict[str, Any]] | None:
        """(key ARN, key policy) of a customer managed key, or None for an AWS managed alias."""
        from moto.kms.models import kms_backends

        backend = kms_backends[ACCOUNT_ID][self.region]
        if key_id.startswith("alias/aws/") or (key_id.startswith("arn:aws:kms") and ":alias/aws/" in key_id):
            return None
        key = backend.describe_key(key_id)
        # moto keeps a policy from CloudFormation as a dict, one from the API as text.
        return key.arn, json.loads(key.policy) if isinstance(key.policy, str) else key.policy

    def topic_key(self, topic_arn: str) -> str | None:
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT_ID][self.region].topics.get(topic_arn)
        return (topic.kms_master_key_id or None) if topic is not None else None

    def table_key(self, table_name: str) -> str | None:
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[ACCOUNT_ID][self.region].get_table(table_name)
        sse = table.sse_specification or {}
        return sse.get("KMSMasterKeyId") if sse.get("SSEType") == "KMS" else None

    def trust_policy(self, role_arn: str) -> dict[str, Any]:
        from moto.iam.models import iam_backends

        document = iam_backends[ACCOUNT_ID]["global"].get_role_by_arn(role_arn).assume_role_policy_document
        return json.loads(document) if isinstance(document, str) else dict(document)

    def bucket_key(self, bucket: str) -> tuple[str | None, bool]:
        """(the bucket's default KMS key or None, whether S3 Bucket Keys are on)."""
        from moto.s3.models import s3_backends

        encryption = s3_backends[ACCOUNT_ID]["global"].get_bucket(bucket).encryption or {}
        rule = encryption.get("Rule") or {}
        rule = rule[0] if isinstance(rule, list) else rule
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm") != "aws:kms":
            return None, False
        return default.get("KMSMasterKeyID"), str(rule.get("BucketKeyEnabled", "false")).lower() == "true"

    def bucket_policy(self, bucket: str) -> dict[str, Any] | None:
        from moto.s3.models import s3_backends

        policy = s3_backends[ACCOUNT_ID]["global"].get_bucket(bucket).policy
        return json.loads(policy) if policy else None


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


def _cluster_arn(call: ApiCall) -> str:
    cluster = str(call.params.get("cluster") or "default")
    return cluster if cluster.startswith("arn:") else _arn("ecs", call.region, f"cluster/{cluster}")


def _task_arn(call: ApiCall, task: str) -> str:
    if task.startswith("arn:"):
        return task
    cluster = _cluster_arn(call).rsplit("/", 1)[-1]
    return _arn("ecs", call.region, f"task/{cluster}/{task}")


def _ecs_list_tasks(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
    if call.params.get("containerInstance"):
        raise UnmodelledOperation("ecs:ListTasks with a container instance")
    return [AuthRequest("ecs:ListTasks", "*", {"ecs:cluster": _cluster_arn(call)})]


def _ecs_on_tasks(action: str) -> Callable[[ApiCall, StackResources], list[AuthRequest]]:
    def requests(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
        tasks = call.params.get("tasks") or [call.params["task"]]
        return [AuthRequest(action, _task_arn(call, t), {"ecs:cluster": _cluster_arn(call)}) for t in tasks]

    return requests


def _ec2_describe_network_interfaces(_call: ApiCall, _res: StackResources) -> list[AuthRequest]:
    return [AuthRequest("ec2:DescribeNetworkInterfaces", "*")]


def s3_key_context(res: StackResources, bucket: str, key: str) -> tuple[str | None, dict[str, str]]:
    """The bucket's default customer key and the encryption context S3 uses with it: the
    object's ARN, or the bucket's with S3 Bucket Keys (S3 user guide, "Using SSE-KMS":
    encryption context; "Reducing the cost of SSE-KMS with Amazon S3 Bucket Keys")."""
    key_id, bucket_key = res.bucket_key(bucket)
    arn = f"arn:aws:s3:::{bucket}" if bucket_key else f"arn:aws:s3:::{bucket}/{key}"
    return key_id, {"kms:EncryptionContext:aws:s3:arn": arn}


def _s3_object(action: str, kms_actions: tuple[str, ...]) -> Callable[[ApiCall, StackResources], list[AuthRequest]]:
    def requests(call: ApiCall, res: StackResources) -> list[AuthRequest]:
        bucket, key = call.params["Bucket"], call.params["Key"]
        key_id, context = s3_key_context(res, bucket, key)
        via = {"kms:ViaService": f"s3.{call.region}.amazonaws.com", "kms:CallerAccount": ACCOUNT_ID, **context}
        return [
            AuthRequest(
                action,
                f"arn:aws:s3:::{bucket}/{key}",
                {"aws:SecureTransport": "true"},
                resource_policy=res.bucket_policy(bucket),
            ),
            *key_requests(res, key_id, kms_actions, via),
        ]

    return requests


def _firehose_put(action: str) -> Callable[[ApiCall, StackResources], list[AuthRequest]]:
    def requests(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
        name = str(call.params["DeliveryStreamName"])
        return [AuthRequest(action, _arn("firehose", call.region, f"deliverystream/{name}"))]

    return requests


def _s3_list_bucket(call: ApiCall, res: StackResources) -> list[AuthRequest]:
    bucket = str(call.params["Bucket"])
    context = {"aws:SecureTransport": "true", "s3:prefix": str(call.params.get("Prefix", ""))}
    return [AuthRequest("s3:ListBucket", f"arn:aws:s3:::{bucket}", context, resource_policy=res.bucket_policy(bucket))]


def _sts_assume_role(call: ApiCall, res: StackResources) -> list[AuthRequest]:
    role = str(call.params["RoleArn"])
    return [AuthRequest("sts:AssumeRole", role, resource_policy=res.trust_policy(role))]


def _ssm_get_parameter(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
    name = str(call.params["Name"])
    return [AuthRequest("ssm:GetParameter", _arn("ssm", call.region, f"parameter/{name.lstrip('/')}"))]


def key_requests(
    res: StackResources, key_id: str | None, actions: tuple[str, ...], context: Mapping[str, str]
) -> list[AuthRequest]:
    """Requests on a customer managed key, under its key policy; none for no key or an AWS
    managed one."""
    key = res.kms_key(key_id) if key_id else None
    if key is None:
        return []
    arn, policy = key
    return [AuthRequest(action, arn, context, resource_policy=policy) for action in actions]


def _kms_via(
    res: StackResources, key_id: str | None, actions: tuple[str, ...], service: str, region: str
) -> list[AuthRequest]:
    """The requests a service makes with the caller's identity on a customer managed key."""
    context = {"kms:ViaService": f"{service}.{region}.amazonaws.com", "kms:CallerAccount": ACCOUNT_ID}
    return key_requests(res, key_id, actions, context)


def _dynamodb(action: str, kms_actions: tuple[str, ...]) -> Callable[[ApiCall, StackResources], list[AuthRequest]]:
    def requests(call: ApiCall, res: StackResources) -> list[AuthRequest]:
        tables = list(call.params["RequestItems"]) if "RequestItems" in call.params else [call.params["TableName"]]
        out: list[AuthRequest] = []
        for table in tables:
            out.append(AuthRequest(action, _arn("dynamodb", call.region, f"table/{table}")))
            out.extend(_kms_via(res, res.table_key(table), kms_actions, "dynamodb", call.region))
        return out

    return requests


def _sns_publish(call: ApiCall, res: StackResources) -> list[AuthRequest]:
    topic = str(call.params["TopicArn"])
    kms = _kms_via(res, res.topic_key(topic), ("kms:GenerateDataKey", "kms:Decrypt"), "sns", call.region)
    return [AuthRequest("sns:Publish", topic), *kms]


def _lambda_invoke(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
    name = str(call.params["FunctionName"])
    arn = name if name.startswith("arn:") else _arn("lambda", call.region, f"function:{name}")
    return [AuthRequest("lambda:InvokeFunction", arn)]


def _states_start_execution(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
    return [AuthRequest("states:StartExecution", str(call.params["stateMachineArn"]))]


def log_group_arn(region: str, group: str) -> str:
    """A log group's ARN as IAM and KMS encryption contexts name it (no trailing ``:*``)."""
    return _arn("logs", region, f"log-group:{group}")


def log_stream_arn(region: str, group: str, stream: str) -> str:
    return f"{log_group_arn(region, group)}:log-stream:{stream}"


def _logs_stream(action: str) -> Callable[[ApiCall, StackResources], list[AuthRequest]]:
    def requests(call: ApiCall, _res: StackResources) -> list[AuthRequest]:
        arn = log_stream_arn(call.region, str(call.params["logGroupName"]), str(call.params["logStreamName"]))
        return [AuthRequest(action, arn)]

    return requests


Requests = Callable[[ApiCall, StackResources], list[AuthRequest]]

# (botocore service name, operation) -> the authorisation requests AWS makes for it.
AUTHORISATION_TABLE: dict[tuple[str, str], Requests] = {
    ("ecs", "ListTasks"): _ecs_list_tasks,
    ("ecs", "DescribeTasks"): _ecs_on_tasks("ecs:DescribeTasks"),
    ("ecs", "StopTask"): _ecs_on_tasks("ecs:StopTask"),
    ("ec2", "DescribeNetworkInterfaces"): _ec2_describe_network_interfaces,
    ("s3", "GetObject"): _s3_object("s3:GetObject", ("kms:Decrypt",)),
    ("s3", "PutObject"): _s3_object("s3:PutObject", ("kms:GenerateDataKey",)),
    ("s3", "ListObjectsV2"): _s3_list_bucket,
    ("ssm", "GetParameter"): _ssm_get_parameter,
    ("dynamodb", "BatchGetItem"): _dynamodb("dynamodb:BatchGetItem", ("kms:Decrypt",)),
    ("dynamodb", "Scan"): _dynamodb("dynamodb:Scan", ("kms:Decrypt",)),
    ("dynamodb", "BatchWriteItem"): _dynamodb("dynamodb:BatchWriteItem", ("kms:GenerateDataKey",)),
    ("dynamodb", "UpdateItem"): _dynamodb("dynamodb:UpdateItem", ("kms:Decrypt", "kms:GenerateDataKey")),
    ("dynamodb", "GetItem"): _dynamodb("dynamodb:GetItem", ("kms:Decrypt",)),
    ("dynamodb", "PutItem"): _dynamodb("dynamodb:PutItem", ("kms:GenerateDataKey",)),
    ("dynamodb", "DeleteItem"): _dynamodb("dynamodb:DeleteItem", ("kms:Decrypt", "kms:GenerateDataKey")),
    ("sns", "Publish"): _sns_publish,
    ("lambda", "Invoke"): _lambda_invoke,
    ("stepfunctions", "StartExecution"): _states_start_execution,
    ("sts", "AssumeRole"): _sts_assume_role,
    ("logs", "CreateLogStream"): _logs_stream("logs:CreateLogStream"),
    ("logs", "PutLogEvents"): _logs_stream("logs:PutLogEvents"),
    ("firehose", "PutRecord"): _firehose_put("firehose:PutRecord"),
    ("firehose", "PutRecordBatch"): _firehose_put("firehose:PutRecordBatch"),
}

# Requests AWS authorises against the literal "*" although the SAR lists a resource type.
LITERAL_STAR = {"ecs:ListTasks"}


def requests_for(call: ApiCall, resources: StackResources) -> list[AuthRequest]:
    build = AUTHORISATION_TABLE.get((call.service, call.operation))
    if build is None:
        raise UnmodelledOperation(
            f"{call.service}:{call.operation} is not in the local cloud's authorisation table "
            "(localcloud/aws_requests.py): add how AWS authorises it before the stack may call it"
        )
    return build(call, resources)


# What AWS answers a denied call with, per service (code, HTTP status).
DENIED_ERRORS: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "ec2": ("UnauthorizedOperation", 403),
}
KMS_DENIED_ERRORS: dict[str, tuple[str, int]] = {
    "sns": ("KMSAccessDenied", 400),
}


def denied_error(service: str, via_kms: bool) -> tuple[str, int]:
    if via_kms and service in KMS_DENIED_ERRORS:
        return KMS_DENIED_ERRORS[service]
    return DENIED_ERRORS.get(service, ("AccessDeniedException", 400))
