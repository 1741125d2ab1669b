"""EC2.

- ``VPC DNS attributes``: moto's ``AWS::EC2::VPC`` ignores ``EnableDnsHostnames`` and
  ``EnableDnsSupport`` (and moto's Fargate tasks need DNS hostnames to build their ENI). We
  apply both after the VPC is created.
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import after_cloudformation_create


def vpc_dns_attributes() -> contextlib.AbstractContextManager[Any]:
    from moto.ec2.models.vpcs import VPC

    def apply_dns_attributes(vpc: Any, props: dict[str, Any], _account_id: str) -> None:
        vpc.enable_dns_hostnames = str(props.get("EnableDnsHostnames", False)).lower() == "true"
        vpc.enable_dns_support = str(props.get("EnableDnsSupport", True)).lower() == "true"

    return after_cloudformation_create(VPC, apply_dns_attributes)
