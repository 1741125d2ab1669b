"""Lambda adapter: the honeynet service's RUNNING tasks and their public IPs."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.honeypot_ips import (
    DESCRIBE_ENIS_BATCH,
    DESCRIBE_TASKS_BATCH,
    add_extra_ips,
    assemble,
    chunks,
    eni_of,
    parse_extra_ips,
    started_after,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


class HoneynetApiError(RuntimeError):
    """ECS or EC2 failed a call after boto3's own retries. One stable name for the ASL's Retry:
    botocore raises a class per AWS error code (ServerException, ThrottlingException, ...)."""


@cache
def _clients() -> tuple[Any, Any]:
    # Created once per container, on first use (tests point them at moto first).
    return boto3.client("ecs"), boto3.client("ec2")


@cache
def _s3() -> Any:
    return boto3.client("s3")


def _running_task_arns(ecs: Any, cluster: str, service: str) -> list[str]:
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=service, desiredStatus="RUNNING"):
        arns.extend(page["taskArns"])
    return arns


def _describe_interfaces(ec2: Any, eni_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    found: dict[str, dict[str, Any] | None] = {}
    for batch in chunks(eni_ids, DESCRIBE_ENIS_BATCH):
        try:
            response = ec2.describe_network_interfaces(NetworkInterfaceIds=batch)
            found.update({ni["NetworkInterfaceId"]: ni for ni in response["NetworkInterfaces"]})
        except ClientError as error:
            if error.response["Error"]["Code"] != "InvalidNetworkInterfaceID.NotFound":
                raise
            # One vanished ENI (a task stopping) must not hide the others: ask one by one.
            for eni in batch:
                try:
                    [found[eni]] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
                except ClientError as single:
                    if single.response["Error"]["Code"] != "InvalidNetworkInterfaceID.NotFound":
                        raise
                    found[eni] = None
    return found


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cluster = event.get("cluster") or os.environ["CLUSTER_NAME"]
    service = event.get("service") or os.environ["SERVICE_NAME"]
    ecs, ec2 = _clients()
    try:
        arns = _running_task_arns(ecs, cluster, service)
        tasks: list[dict[str, Any]] = []
        for batch in chunks(arns, DESCRIBE_TASKS_BATCH):
            tasks.extend(ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"])
        eni_ids = sorted({eni for task in tasks if (eni := eni_of(task))})
        interfaces = _describe_interfaces(ec2, eni_ids) if eni_ids else {}
    except (ClientError, BotoCoreError) as error:
        raise HoneynetApiError(f"listing the honeynet's tasks failed: {error}") from error
    listing = assemble(cluster, service, tasks, interfaces)
    if event.get("startedAfter"):
        # A rotation's check for replacements: only tasks started since its stop (the list stays
        # small however large the honeynet); extra IPs have no task and are never replacements.
        listing = started_after(listing, str(event["startedAfter"]))
    else:
        listing = add_extra_ips(listing, *parse_extra_ips(os.environ.get("EXTRA_HONEYPOT_IPS", "")))

    if event.get("targetsKey") and listing.ips:
        # A sweep: every target and skipped task to S3 (the summary's record of the sweep); the
        # targets, one Map item each, to the state machine.
        try:
            _s3().put_object(
                Bucket=event["targetsBucket"],
                Key=event["targetsKey"],
                Body=json.dumps(listing.targets_document()).encode(),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as error:
            raise HoneynetApiError(f"storing the sweep's targets failed: {error}") from error
    for skipped in listing.skipped:
        logger.info("task skipped", extra={"taskArn": skipped.task_arn, "reason": skipped.reason})
    metrics.add_metric(name="RunningHoneypots", unit=MetricUnit.Count, value=len(listing.ips))
    metrics.add_metric(name="SkippedTasks", unit=MetricUnit.Count, value=len(listing.skipped))
    logger.info("honeypot IPs listed", extra={"ips": len(listing.ips), "skipped": len(listing.skipped)})
    if event.get("targetsKey"):
        return listing.sweep_json(event["targetsKey"])
    return listing.to_json()
