"""The honeynet's RUNNING tasks and their public IPs, as ECS and EC2 describe them (boto3 clients
passed in); the sweep's targets document to S3. What the answers mean is honeypot_ips.py's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.honeypot_ips import (
    DESCRIBE_ENIS_BATCH,
    DESCRIBE_TASKS_BATCH,
    Listing,
    assemble,
    chunks,
    eni_of,
    merge_listings,
)


class HoneynetApiError(RuntimeError):
    """ECS, EC2 or S3 failed a call after boto3's own retries. One stable name for the ASL's
    Retry: botocore raises a class per AWS error code (ServerException, ThrottlingException, ...)."""


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


def list_honeypots(ecs: Any, ec2: Any, cluster: str, services: Mapping[str, str | None]) -> Listing:
    """The services' RUNNING tasks with their public IPs; tasks not ready are skipped with a reason.
    ``services``: service name -> the Conpot template it serves (None: not known)."""
    listings = []
    try:
        for service, template in services.items():
            arns = _running_task_arns(ecs, cluster, service)
            tasks: list[dict[str, Any]] = []
            for batch in chunks(arns, DESCRIBE_TASKS_BATCH):
                tasks.extend(ecs.describe_tasks(cluster=cluster, tasks=batch)["tasks"])
            eni_ids = sorted({eni for task in tasks if (eni := eni_of(task))})
            interfaces = _describe_interfaces(ec2, eni_ids) if eni_ids else {}
            listings.append(assemble(cluster, service, tasks, interfaces, template))
    except (ClientError, BotoCoreError) as error:
        raise HoneynetApiError(f"listing the honeynet's tasks failed: {error}") from error
    return merge_listings(cluster, listings)


def store_targets(s3: Any, bucket: str, key: str, listing: Listing) -> None:
    """Every target and skipped task of a sweep (``contracts.targets_key``): the summary's record."""
    try:
        s3.put_object(
            Bucket=bucket, Key=key, Body=json.dumps(listing.targets_document()).encode(), ContentType="application/json"
        )
    except (ClientError, BotoCoreError) as error:
        raise HoneynetApiError(f"storing the sweep's targets failed: {error}") from error
