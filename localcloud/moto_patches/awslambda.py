"""Lambda: moto's docker-free backend calls the in-process runtime (localcloud/lambda_runtime.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from localcloud.lambda_runtime import InProcessLambda
from localcloud.moto_patches.base import patch_attr


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
