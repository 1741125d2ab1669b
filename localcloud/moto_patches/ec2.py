"""EC2.

- ``VPC DNS attributes``: moto's ``AWS::EC2::VPC`` ignores ``EnableDnsHostnames`` and
  ``EnableDnsSupport`` (and moto's Fargate tasks need DNS hostnames to build their ENI). We
  apply both after the VPC is created.
- ``Flow logs to an S3 folder``: see ``flow_logs_to_s3_folders``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import after_cloudformation_create, patch_attr


def vpc_dns_attributes() -> contextlib.AbstractContextManager[Any]:
    from moto.ec2.models.vpcs import VPC

    def apply_dns_attributes(vpc: Any, props: dict[str, Any], _account_id: str) -> None:
        vpc.enable_dns_hostnames = str(props.get("EnableDnsHostnames", False)).lower() == "true"
        vpc.enable_dns_support = str(props.get("EnableDnsSupport", True)).lower() == "true"

    return after_cloudformation_create(VPC, apply_dns_attributes)


def flow_logs_to_s3_folders() -> contextlib.AbstractContextManager[Any]:
    """moto looks for a bucket named ``BUCKET/FOLDER/`` when a flow log's ``LogDestination`` names
    a folder (``arn:aws:s3:::BUCKET/FOLDER/``, as the VPC user guide allows), finds none and
    creates no flow log; its ``AWS::EC2::FlowLog`` also drops ``DestinationOptions``. We check
    the bucket, keep the full destination and the options (as ``destination_options``)."""
    from moto.ec2.models.flow_logs import FlowLogs, FlowLogsBackend

    original = FlowLogsBackend.create_flow_logs

    def create_flow_logs(self: Any, resource_type: str, resource_ids: list[str], traffic_type: str,
                         deliver_logs_permission_arn: str, log_destination_type: str, log_destination: str,
                         *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        bucket_only = log_destination
        if log_destination_type == "s3" and log_destination:
            bucket_only = log_destination.split("/", 1)[0]
        flow_logs, unsuccessful = original(self, resource_type, resource_ids, traffic_type,
                                           deliver_logs_permission_arn, log_destination_type, bucket_only,
                                           *args, **kwargs)  # fmt: skip
        for flow_log in flow_logs:
            flow_log.log_destination = log_destination
        return flow_logs, unsuccessful

    def keep_destination_options(flow_log: Any, props: dict[str, Any], _account_id: str) -> None:
        flow_log.destination_options = props.get("DestinationOptions")

    stack = contextlib.ExitStack()
    stack.enter_context(patch_attr(FlowLogsBackend, "create_flow_logs", create_flow_logs))
    stack.enter_context(after_cloudformation_create(FlowLogs, keep_destination_options))
    return stack
