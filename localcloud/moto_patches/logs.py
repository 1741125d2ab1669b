"""CloudWatch Logs.

- ``Fn::GetAtt LogGroup.Arn``: CloudFormation answers ``arn:...:log-group:NAME:*`` (the
  AWS::Logs::LogGroup return values); moto answers without the trailing ``:*``, which hides a
  grant such as ``${LogGroup.Arn}:log-stream:*`` that matches no stream on AWS. We answer as
  CloudFormation does. moto's ``AWS::Logs::LogGroup`` also drops ``KmsKeyId`` (it reads the API's
  ``kmsKeyId``); we keep it, so ``DescribeLogGroups`` shows the key as on AWS.
- ``AWS::Logs::SubscriptionFilter``: not in moto's CloudFormation; created here, after the test
  delivery AWS makes with the filter's role.
- ``Forwarding to Firehose``: with the filter's role, through the IAM gate, as CloudWatch Logs'
  gzipped batches (``subscriptions_forward_with_their_role``).
"""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from localcloud.moto_patches.base import CreatedResource, CreateFailed, after_cloudformation_create, patch_attr


def log_group_arn_and_key() -> contextlib.AbstractContextManager[Any]:
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> str:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" else value

    def keep_kms_key(group: Any, props: dict[str, Any], _account_id: str) -> None:
        group.kms_key_id = group.kms_key_id or props.get("KmsKeyId")

    stack = contextlib.ExitStack()
    stack.enter_context(patch_attr(LogGroup, "get_cfn_attribute", get_cfn_attribute))
    stack.enter_context(after_cloudformation_create(LogGroup, keep_kms_key))
    return stack


# ---------------------------------------------------------------------------------------------
# Subscription filters
# ---------------------------------------------------------------------------------------------
SUBSCRIPTION_FILTER_TYPE = "AWS::Logs::SubscriptionFilter"


@dataclass(frozen=True)
class ForwardingFailure:
    log_group: str
    events: int
    error: str


FORWARDING_FAILURES: list[ForwardingFailure] = []


def _logs_may_forward(role_arn: str, destination_arn: str, region: str, log_group: str) -> str | None:
    """CloudWatch Logs assumes the filter's role (trust: ``logs.amazonaws.com``, ``aws:SourceArn`` the
    log group) and puts records to the stream with it; the denial, or None."""
    from localcloud.authorizer import active_authorizer, assume_role_denial
    from localcloud.aws_requests import log_group_arn
    from localcloud.constants import ACCOUNT_ID
    from localcloud.iam import AuthRequest, role_principal

    context = {"aws:SourceArn": log_group_arn(region, log_group), "aws:SourceAccount": ACCOUNT_ID}
    denial = assume_role_denial("logs.amazonaws.com", role_arn, context)
    if denial:
        return denial
    authorizer = active_authorizer()
    if authorizer is None:
        return None
    requests = [AuthRequest(action, destination_arn) for action in ("firehose:PutRecord", "firehose:PutRecordBatch")]
    decision = authorizer.first_denial(role_principal(role_arn), requests)
    return decision.message() if decision else None


class SubscriptionFilterResource(CreatedResource):
    """An ``AWS::Logs::SubscriptionFilter`` (moto's CloudFormation has none). As on AWS, creating
    it sends a test message with the role: a role CloudWatch Logs cannot assume, or that may not
    put records to the destination, fails the resource ("Could not deliver test message")."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_kw: Any
    ) -> SubscriptionFilterResource:
        from moto.logs.models import logs_backends

        props = cloudformation_json["Properties"]
        name = props.get("FilterName") or resource_name
        destination, role = props["DestinationArn"], props.get("RoleArn", "")
        if destination.split(":")[2] == "firehose":
            denial = _logs_may_forward(role, destination, region_name, props["LogGroupName"])
            if denial:
                raise CreateFailed(
                    f"{SUBSCRIPTION_FILTER_TYPE} {name}: InvalidParameterException: Could not deliver test message "
                    f"to specified Firehose stream. Check if the given Firehose stream is in ACTIVE state. ({denial})"
                )
        logs_backends[account_id][region_name].put_subscription_filter(
            props["LogGroupName"], name, props.get("FilterPattern", ""), destination, role
        )
        return cls(name)


@contextlib.contextmanager
def subscriptions_forward_with_their_role() -> Iterator[list[ForwardingFailure]]:
    """moto forwards a subscribed log group's events to Firehose without its role, without a
    filter pattern, and straight into moto's S3 writer. We forward as CloudWatch Logs does: the
    events of one PutLogEvents as one gzipped DATA_MESSAGE record ("Subscription filters",
    CloudWatch Logs user guide), put with ``PutRecordBatch`` as the filter's role through the IAM
    gate, to whatever Firehose then does with it. Filter patterns other than "" (every event)
    are not modelled. A forward the role may not make is dropped and kept in
    ``FORWARDING_FAILURES``."""
    from moto.logs.models import LogStream

    original = LogStream._send_log_events

    def send_log_events(
        self: Any, service: str, destination_arn: str, filter_name: str, log_events: list[dict[str, Any]]
    ) -> None:
        if service != "firehose":
            return original(self, service, destination_arn, filter_name, log_events)
        import boto3

        from localcloud.iam import acting_as, role_principal

        subscription = self.log_group.subscription_filters[filter_name]
        if subscription.filter_pattern.strip():
            raise NotImplementedError("the local cloud forwards with an empty filter pattern only")
        group = self.log_group.name
        denial = _logs_may_forward(subscription.role_arn, destination_arn, self.region, group)
        if denial:
            FORWARDING_FAILURES.append(ForwardingFailure(group, len(log_events), denial))
            return None
        batch = {
            "messageType": "DATA_MESSAGE",
            "owner": self.account_id,
            "logGroup": group,
            "logStream": self.log_stream_name,
            "subscriptionFilters": [filter_name],
            "logEvents": log_events,
        }
        record = gzip.compress(json.dumps(batch, separators=(",", ":")).encode())
        with acting_as(role_principal(subscription.role_arn)):
            boto3.client("firehose", region_name=self.region).put_record_batch(
                DeliveryStreamName=destination_arn.rsplit("/", 1)[-1], Records=[{"Data": record}]
            )
        return None

    FORWARDING_FAILURES.clear()
    with patch_attr(LogStream, "_send_log_events", send_log_events):
        yield FORWARDING_FAILURES
