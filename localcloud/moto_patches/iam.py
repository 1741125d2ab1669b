"""IAM.

- ``IAM roles in CloudFormation``: moto's ``AWS::IAM::Role`` drops ``ManagedPolicyArns`` (SAM
  attaches ``AWSLambdaBasicExecutionRole`` to every function's role that way), so the role's
  managed policies never reach the IAM evaluator. We attach them (moto loads AWS's managed
  policies when the local cloud asks it to; an ARN IAM does not know fails, as on AWS).
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import patch_attr


def role_managed_policies() -> contextlib.AbstractContextManager[Any]:
    from moto.iam.models import Role, iam_backends

    create = Role.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        role = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id]["aws"]
        for arn in cloudformation_json["Properties"].get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)
        return role

    return patch_attr(Role, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))
