"""IAM.

- ``IAM roles in CloudFormation``: moto's ``AWS::IAM::Role`` drops ``ManagedPolicyArns`` (SAM
  attaches ``AWSLambdaBasicExecutionRole`` to every function's role that way), so the role's
  managed policies never reach the IAM evaluator. We attach them (moto loads AWS's managed
  policies when the local cloud asks it to; an ARN IAM does not know fails, as on AWS).
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import after_cloudformation_create


def role_managed_policies() -> contextlib.AbstractContextManager[Any]:
    from moto.iam.models import Role, iam_backends

    def attach_managed_policies(role: Any, props: dict[str, Any], account_id: str) -> None:
        backend = iam_backends[account_id]["aws"]
        for arn in props.get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)

    return after_cloudformation_create(Role, attach_managed_policies)
