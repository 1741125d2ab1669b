"""CloudWatch Logs.

- ``Fn::GetAtt LogGroup.Arn``: CloudFormation answers ``arn:...:log-group:NAME:*`` (the
  AWS::Logs::LogGroup return values); moto answers without the trailing ``:*``, which hides a
  grant such as ``${LogGroup.Arn}:log-stream:*`` that matches no stream on AWS. We answer as
  CloudFormation does. moto's ``AWS::Logs::LogGroup`` also drops ``KmsKeyId`` (it reads the API's
  ``kmsKeyId``); we keep it, so ``DescribeLogGroups`` shows the key as on AWS.
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.moto_patches.base import after_cloudformation_create, patch_attr


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
