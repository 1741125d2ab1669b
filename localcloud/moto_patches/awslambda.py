"""Lambda: moto's docker-free backend calls the in-process runtime (localcloud/lambda_runtime.py).

- ``AWS::Lambda::Url``: created through moto's Lambda API (moto's CloudFormation lacks the type).

- ``invoke in process``: the real handler runs instead of moto's canned answer.
- ``CloudFormation layer versions and permissions``: moto's CloudFormation creates
  ``AWS::Lambda::LayerVersion`` and ``AWS::Lambda::Permission`` without a physical id, so a
  function's ``Layers: [!Ref Layer]`` resolves to nothing and the stack's resource list breaks.
  As CloudFormation does, ``Ref`` of a layer version is its ARN, and of a permission an id of
  its own (AWS::Lambda::LayerVersion / AWS::Lambda::Permission, return values).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any
from unittest import mock

from localcloud.lambda_runtime import InProcessLambda
from localcloud.moto_patches.base import CreatedResource, CreateFailed, MotoVersionMismatch, patch_attr


def invoke_in_process(runtime: InProcessLambda) -> contextlib.AbstractContextManager[Any]:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        payload, function_error = runtime.invoke(fn, body)
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        return payload

    return patch_attr(LambdaSimpleBackend, "invoke", invoke)


# -- AWS::Lambda::Url -------------------------------------------------------------------------
URL_TYPE = "AWS::Lambda::Url"


class FunctionUrlResource(CreatedResource):
    """``AWS::Lambda::Url`` (what SAM's ``FunctionUrlConfig`` becomes): moto's CloudFormation lacks
    the type, its Lambda API has CreateFunctionUrlConfig. ``Ref`` is the function's ARN and
    ``Fn::GetAtt`` gives ``FunctionArn`` and ``FunctionUrl`` (CloudFormation, AWS::Lambda::Url,
    return values). Requests to the URL are served by localcloud/function_urls.py."""

    ATTRIBUTES = ("FunctionArn", "FunctionUrl")

    @classmethod
    def has_cfn_attr(cls, attribute: str) -> bool:
        """moto's CloudFormation asks before resolving an output's ``Fn::GetAtt``."""
        return attribute in cls.ATTRIBUTES

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_kw: Any
    ) -> FunctionUrlResource:
        from moto.awslambda.utils import get_backend  # the docker-free backend the local cloud runs

        props = cloudformation_json["Properties"]
        if props.get("Qualifier"):
            raise CreateFailed(f"{resource_name}: the local cloud serves function URLs of $LATEST only")
        config = {key: props[key] for key in ("AuthType", "Cors", "InvokeMode") if key in props}
        url = get_backend(account_id, region_name).create_function_url_config(props["TargetFunctionArn"], config)
        arn = url.function.function_arn
        return cls(arn, FunctionArn=arn, FunctionUrl=f"{url.url}/")


def cloudformation_layers_and_permissions() -> contextlib.AbstractContextManager[Any]:
    from moto.awslambda.models import LayerVersion, Permission

    for model in (LayerVersion, Permission):
        if "physical_resource_id" in vars(model):
            raise MotoVersionMismatch(f"moto's {model.__name__} has a physical_resource_id now: drop this patch")

    def permission_id(self: Any) -> str:
        return str(self.__dict__.setdefault("_localcloud_id", f"permission-{uuid.uuid4().hex[:12]}"))

    stack = contextlib.ExitStack()
    stack.enter_context(
        mock.patch.object(LayerVersion, "physical_resource_id", property(lambda self: self.arn), create=True)
    )
    stack.enter_context(mock.patch.object(Permission, "physical_resource_id", property(permission_id), create=True))
    return stack
