"""S3.

- ``S3 bucket policy conditions``: moto's condition check does not evaluate ``Bool`` and
  treats a statement whose condition fails as DENY, so the template's TLS-only
  ``Deny if aws:SecureTransport=false`` denies every request. On AWS a statement whose
  condition does not hold does not apply. We evaluate conditions ourselves (the operators
  bucket policies here use) with the request context of an AWS SDK call over TLS.
- ``S3 Bucket Keys in CloudFormation``: see ``bucket_key_setting``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from localcloud.iam import condition_holds
from localcloud.moto_patches.base import after_cloudformation_create, patch_attr

# What every AWS SDK call of the stack looks like to a policy condition.
SDK_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def bucket_policy_conditions() -> contextlib.AbstractContextManager[Any]:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        result = PermissionResult.NEUTRAL
        for statement in statements if isinstance(statements, list) else [statements]:
            if "Condition" in statement:
                if not condition_holds(statement["Condition"], SDK_REQUEST_CONTEXT):
                    continue  # the statement does not apply to this request
                statement = {k: v for k, v in statement.items() if k != "Condition"}
            outcome = IAMPolicyStatement(statement).is_action_permitted(action, resource)
            if outcome == PermissionResult.DENIED:
                return outcome
            if outcome == PermissionResult.PERMITTED:
                result = outcome
        return result

    return patch_attr(FakeBucket, "get_permission", get_permission)


def bucket_key_setting() -> contextlib.AbstractContextManager[Any]:
    """moto's ``AWS::S3::Bucket`` drops ``BucketKeyEnabled`` from ``BucketEncryption``; with it on,
    S3 uses the bucket's ARN, not the object's, as the KMS encryption context, which decides
    whether a grant conditioned on ``kms:EncryptionContext:aws:s3:arn`` applies. We keep it."""
    from moto.s3.models import FakeBucket

    def keep_bucket_key(bucket: Any, props: dict[str, Any], _account_id: str) -> None:
        rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        if bucket.encryption and rules and "BucketKeyEnabled" in rules[0]:
            bucket.encryption["Rule"]["BucketKeyEnabled"] = str(rules[0]["BucketKeyEnabled"]).lower()

    return after_cloudformation_create(FakeBucket, keep_bucket_key)
