"""Lambda function URLs: an HTTPS request to ``https://<url-id>.lambda-url.<region>.on.aws/``,
served as Lambda serves it, by the real handler in-process (lambda_runtime.InProcessLambda).

What Lambda does between the request and the function (Lambda developer guide, "Invoking Lambda
function URLs"; "Control access to Lambda function URLs"; "Lambda quotas"):

- ``AuthType NONE``: no authentication, but "your function's resource-based policy is always in
  effect and must grant public access", and "starting in October 2025, new function URLs will
  require both ``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction`` permissions": an Allow
  to the public (``Principal *``) of InvokeFunctionUrl under ``lambda:FunctionUrlAuthType NONE``
  and of InvokeFunction under ``lambda:InvokedViaFunctionUrl true`` (what SAM's
  ``FunctionUrlConfig`` adds: ``<Fn>UrlPublicPermissions``, ``<Fn>URLInvokeAllowPublicAccess``).
  Without both, Lambda answers 403 and the function never runs. The caller is anonymous, so
  there is no identity policy to evaluate: the function's policy statements are evaluated here
  (``public_access_denial``), with the conditions evaluated by iam.condition_holds.
  ``AWS_IAM`` URLs need SigV4-signed requests, which nothing in the stack sends: not served.
- The request is an invocation: its event (payload format 2.0) within the 6 MB synchronous
  payload quota, else 413 before the function runs.
- The event: ``version 2.0``, ``rawPath``, lower-case ``headers``, ``requestContext.http``
  (``method``, ``path``, ``sourceIp``), ``body`` (base64 with ``isBase64Encoded`` unless the
  content type is text).
- The reply: the function's ``statusCode``, ``headers`` and ``body``; a function error, 502.

moto keeps the permissions CloudFormation adds as the raw AddPermission fields
(``FunctionUrlAuthType``, ``InvokedViaFunctionUrl``); ``policy_statements`` turns them into the
condition keys Lambda stores (a canary pins moto's shape).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from localcloud.constants import ACCOUNT_ID
from localcloud.iam import condition_holds
from localcloud.lambda_runtime import InProcessLambda

INVOCATION_PAYLOAD_LIMIT = 6 * 1024 * 1024  # Lambda quotas: 6 MB per synchronous request
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
PUBLIC_CONTEXT = {"lambda:FunctionUrlAuthType": "NONE", "lambda:InvokedViaFunctionUrl": "true"}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class UrlRequest:
    """One request as Lambda received it (tests and the local Shodan look at them)."""

    url: str
    method: str
    status: int
    at: datetime


def policy_statements(function: Any) -> list[dict[str, Any]]:
    """The function's resource-based policy as Lambda stores it: AddPermission's
    ``FunctionUrlAuthType`` and ``InvokedViaFunctionUrl`` become condition keys."""
    statements = []
    for raw in function.policy.statements:
        statement = {k: v for k, v in raw.items() if k not in ("FunctionUrlAuthType", "InvokedViaFunctionUrl")}
        condition = {op: dict(clauses) for op, clauses in (raw.get("Condition") or {}).items()}
        if "FunctionUrlAuthType" in raw:
            condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = raw["FunctionUrlAuthType"]
        if "InvokedViaFunctionUrl" in raw:
            flag = str(raw["InvokedViaFunctionUrl"]).lower()
            condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = flag
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return statements


def _is_public(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*")


def _matches(patterns: Any, value: str) -> bool:
    listed = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value, str(p)) for p in listed)


def public_access_denial(statements: list[dict[str, Any]], function_arn: str) -> str | None:
    """Why an anonymous request to an AuthType NONE URL is refused (None: both actions allowed)."""
    for action in ("lambda:InvokeFunctionUrl", "lambda:InvokeFunction"):
        applicable = [
            s
            for s in statements
            if _is_public(s.get("Principal"))
            and _matches(s.get("Action"), action)
            and _matches(s.get("Resource", function_arn), function_arn)
            and condition_holds(s.get("Condition") or {}, PUBLIC_CONTEXT)
        ]
        if any(s.get("Effect") == "Deny" for s in applicable):
            return f"the function's policy denies {action} to the public"
        if not any(s.get("Effect", "Allow") == "Allow" for s in applicable):
            return f"the function's policy does not allow {action} to the public (via its function URL)"
    return None


@dataclass
class FunctionUrls:
    """The function URLs of the local cloud's functions, served by its Lambda runtime."""

    runtime: InProcessLambda
    region: str
    requests: list[UrlRequest] = field(default_factory=list)

    def _function_for(self, url: str) -> Any:
        from moto.awslambda.utils import get_backend  # the docker-free backend the local cloud runs

        host = urlparse(url).netloc.lower()
        for function in get_backend(ACCOUNT_ID, self.region)._lambdas.latest():
            config = function.url_config
            if config is not None and urlparse(config.url).netloc.lower() == host:
                return function
        return None

    def request(self, url: str, method: str, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        response = self._serve(url, method.upper(), headers, body)
        self.requests.append(UrlRequest(url, method.upper(), response.status, datetime.now(UTC)))
        return response

    def _serve(self, url: str, method: str, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        function = self._function_for(url)
        if function is None:
            return _message(404, "Not Found")  # no function has this URL (DNS would not resolve it)
        auth = function.url_config.config.get("AuthType")
        if auth != "NONE":
            return _message(403, "Forbidden")  # AWS_IAM: the request would need a SigV4 signature
        if public_access_denial(policy_statements(function), function.function_arn) is not None:
            return _message(403, "Forbidden")
        event = _event(url, method, headers, body)
        payload = json.dumps(event)
        if len(payload.encode()) > INVOCATION_PAYLOAD_LIMIT:
            return _message(413, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
        raw, error = self.runtime.invoke(function, payload)
        if error:
            return _message(502, "Internal Server Error")
        return _response(json.loads(raw))


def _event(url: str, method: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    parsed = urlparse(url)
    lowered = {k.lower(): v for k, v in headers.items()}
    content_type = lowered.get("content-type", "")
    text = content_type.startswith(TEXT_TYPES)
    if text:
        try:
            encoded, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            encoded, is_base64 = base64.b64encode(body).decode(), True
    else:
        encoded, is_base64 = base64.b64encode(body).decode(), True
    host = parsed.netloc
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parsed.path or "/",
        "rawQueryString": parsed.query,
        "headers": {**lowered, "host": host, "x-forwarded-proto": "https", "content-length": str(len(body))},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": host.split(".", 1)[0],
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": parsed.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        **({"body": encoded} if body else {}),
        "isBase64Encoded": is_base64 if body else False,
    }


def _message(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps({"Message": message}).encode())


def _response(result: Any) -> HttpResponse:
    """A dict with ``statusCode`` is the response; anything else is a 200 with it as JSON."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        return HttpResponse(int(result["statusCode"]), headers, raw)
    return HttpResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
