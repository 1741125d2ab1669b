"""EC2.

- ``VPC DNS attributes``: moto's ``AWS::EC2::VPC`` ignores ``EnableDnsHostnames`` and
  ``EnableDnsSupport`` (and moto's Fargate tasks need DNS hostnames to build their ENI). We
  apply both after the VPC is created.
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import patch_attr


def vpc_dns_attributes() -> contextlib.AbstractContextManager[Any]:
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

    return patch_attr(VPC, "create_from_cloudformation_json", classmethod(create_vpc))
