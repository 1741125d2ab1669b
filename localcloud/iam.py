"""IAM in the local cloud: every AWS call a principal of the stack makes is authorised first.

moto evaluates no IAM policy, so a policy that AWS would deny passes silently in moto. Here each
call made *as a principal of the stack* (a function's role, the state machine's role, the
EventBridge rule's role, the ECS task execution role, a service principal such as CloudWatch
alarms) is turned into the authorisation requests AWS makes for it (localcloud/aws_requests.py,
one explicit table) and evaluated by @cloud-copilot/iam-simulate (npm; policies, actions and
resource types from AWS's Service Authorization Reference) against:

- the principal's identity policies, read from the deployed roles (inline and managed);
- the resource's own policy where it has one: KMS key policies, the S3 bucket policy.

A denied call answers the error AWS answers (``AccessDeniedException``, S3's ``AccessDenied``,
SNS's ``AuthorizationError``, EC2's ``UnauthorizedOperation``) through botocore, so handlers and
the ASL's Retry/Catch see exactly what they would on AWS. A call whose operation is missing from
the table raises ``UnmodelledOperation``: it never passes silently.

Calls AWS authorises against a literal ``*`` (``ecs:ListTasks`` without a container instance,
``ec2:DescribeNetworkInterfaces``): the simulator reads a request resource of ``*`` as "any
resource" and would allow a policy on ``container-instance/...``. For those the evaluator keeps
only Allow statements whose Resource matches the literal ``*`` (shared/reference:
"IAM facts that documentation alone gets wrong").

KMS encryption-context keys (``kms:EncryptionContext:aws:logs:arn``): iam-simulate 0.1.173 reads
a variable condition key only when its variable follows a ``/`` (``aws:PrincipalTag/K``), so it
ignores these and every statement conditioned on one fails to match. We evaluate those clauses
here first (:func:`resolve_encryption_context`) and hand iam-simulate the rest.

Calls with no principal (the local cloud itself deploying, the test harness reading S3) are the
account administrator's and are not evaluated.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.constants import ACCOUNT_ID

SIMULATOR_SCRIPT = Path(__file__).resolve().parent / "iam_simulate.mjs"
# moto's Step Functions interpreter signs its service calls with these literal credentials.
STEP_FUNCTIONS_ACCESS_KEY = "ak"


class UnmodelledOperation(RuntimeError):
    """A principal of the stack called an operation the authorisation table does not know."""


class SimulatorError(RuntimeError):
    """iam-simulate rejected a request or a policy (invalid action, resource type, context key)."""


@dataclass(frozen=True)
class AuthRequest:
    """One authorisation request, as AWS builds it for an API call."""

    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    # The resource's own policy (KMS key policy, bucket policy), or None.
    resource_policy: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Principal:
    arn: str  # a role ARN, or a service principal such as cloudwatch.amazonaws.com
    policies: tuple[Mapping[str, Any], ...] = ()

    @property
    def is_service(self) -> bool:
        return self.arn.endswith(".amazonaws.com")

    @property
    def session_arn(self) -> str:
        """How AWS names the caller in an AccessDenied message."""
        if self.is_service:
            return self.arn
        name = self.arn.rsplit("/", 1)[-1]
        return f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{name}/localcloud"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    result: str  # Allowed, ExplicitlyDenied, ImplicitlyDenied
    request: AuthRequest
    principal: Principal

    def message(self) -> str:
        why = (
            "with an explicit deny"
            if self.result == "ExplicitlyDenied"
            else f"because no identity-based policy allows the {self.request.action} action"
        )
        if self.request.resource_policy is not None and self.result != "ExplicitlyDenied":
            why = f"because no policy (identity or resource-based) allows the {self.request.action} action"
        return (
            f"User: {self.principal.session_arn} is not authorized to perform: {self.request.action} "
            f"on resource: {self.request.resource} {why}"
        )


# ---------------------------------------------------------------------------------------------
# The evaluator: iam-simulate in a node process, one request per line
# ---------------------------------------------------------------------------------------------
def literal_star_policies(policies: tuple[Mapping[str, Any], ...]) -> list[dict[str, Any]]:
    """The policies as they apply to a request AWS authorises against the literal ``*``: only
    Allow statements with a Resource that matches the string ``*`` can grant it."""
    out = []
    for policy in policies:
        statements = policy.get("Statement", [])
        kept = []
        for statement in statements if isinstance(statements, list) else [statements]:
            if "NotResource" in statement:
                raise SimulatorError("NotResource with a literal-* request is not modelled")
            if statement.get("Effect") != "Allow":
                kept.append(statement)
                continue
            resources = statement.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            matching = [r for r in resources if fnmatch.fnmatchcase("*", r)]
            if matching:
                kept.append({**statement, "Resource": matching})
        out.append({**policy, "Statement": kept})
    return out


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, Any]) -> bool:
    """IAM condition evaluation for the operators our policies use; anything else is an error.
    Keys are case-insensitive, as in IAM."""
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, clauses in condition.items():
        for key, expected in clauses.items():
            wanted = [str(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = lowered.get(key.lower())
            if actual is None:
                return False
            actual = str(actual)
            if operator == "Bool":
                ok = actual.lower() in (w.lower() for w in wanted)
            elif operator in ("StringEquals", "ArnEquals"):
                ok = actual in wanted
            elif operator == "StringNotEquals":
                ok = actual not in wanted
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(actual, w) for w in wanted)
            else:
                raise NotImplementedError(f"the local cloud cannot evaluate IAM condition operator {operator}")
            if not ok:
                return False
    return True


ENCRYPTION_CONTEXT = "kms:encryptioncontext:"


def _is_encryption_context_key(key: str) -> bool:
    return key.lower().startswith(ENCRYPTION_CONTEXT)


def _split_condition(condition: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ``kms:EncryptionContext:*`` clauses, the others), each by operator; empty operators dropped."""
    ours: dict[str, dict[str, Any]] = {}
    rest: dict[str, dict[str, Any]] = {}
    for op, clauses in condition.items():
        for key, value in clauses.items():
            (ours if _is_encryption_context_key(key) else rest).setdefault(op, {})[key] = value
    return ours, rest


def resolve_encryption_context(policy: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """``policy`` with every ``kms:EncryptionContext:*`` clause evaluated against ``context``:
    a clause that holds is dropped, a statement with one that does not is dropped (condition
    clauses are ANDed, and a statement whose condition fails does not apply, Allow or Deny)."""
    statements = policy.get("Statement", [])
    kept = []
    for statement in statements if isinstance(statements, list) else [statements]:
        ours, rest = _split_condition(statement.get("Condition", {}))
        if not ours:
            kept.append(statement)
        elif condition_holds(ours, context):
            resolved = {key: value for key, value in statement.items() if key != "Condition"}
            kept.append({**resolved, "Condition": rest} if rest else resolved)
    return {**policy, "Statement": kept}


class Simulator:
    """A long-lived ``node localcloud/iam_simulate.mjs``; answers are cached (policies are fixed
    once the stack is deployed)."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise SimulatorError("the local cloud's IAM evaluator needs Node.js (node on PATH)")
        self._process = subprocess.Popen(  # noqa: S603 - our own script, run by the node on PATH
            [node, str(SIMULATOR_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=SIMULATOR_SCRIPT.parent,
        )
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def evaluate(self, principal: Principal, request: AuthRequest, literal_star: bool = False) -> str:
        policies = literal_star_policies(principal.policies) if literal_star else list(principal.policies)
        context = dict(request.context)
        resource_policy = request.resource_policy
        if any(_is_encryption_context_key(key) for key in context):
            policies = [resolve_encryption_context(policy, context) for policy in policies]
            if resource_policy is not None:
                resource_policy = resolve_encryption_context(resource_policy, context)
            context = {key: value for key, value in context.items() if not _is_encryption_context_key(key)}
        payload = {
            "principal": principal.arn,
            "action": request.action,
            "resource": request.resource,
            "accountId": ACCOUNT_ID,
            "context": context,
            "identityPolicies": policies,
            "resourcePolicy": resource_policy,
        }
        key = json.dumps(payload, sort_keys=True)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps({"id": uuid.uuid4().hex, **payload}) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
            if not line:
                raise SimulatorError("the IAM evaluator (node) exited")
            answer = json.loads(line)
            if answer["decision"] == "Error":
                raise SimulatorError(
                    f"iam-simulate rejected {request.action} on {request.resource} "
                    f"for {principal.arn}: {json.dumps(answer['errors'])}"
                )
            self._cache[key] = answer["decision"]
            return answer["decision"]

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()  # type: ignore[union-attr]
            self._process.wait(timeout=5)


_simulator: Simulator | None = None
_simulator_lock = threading.Lock()


def simulator() -> Simulator:
    """One evaluator per process (starting node costs ~0.3 s)."""
    global _simulator
    with _simulator_lock:
        if _simulator is None:
            _simulator = Simulator()
        return _simulator


# ---------------------------------------------------------------------------------------------
# Who is calling
# ---------------------------------------------------------------------------------------------
_acting = threading.local()


@contextlib.contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Calls made on this thread inside the block are made by ``principal`` (None: the admin)."""
    stack = getattr(_acting, "stack", None)
    if stack is None:
        stack = _acting.stack = []
    stack.append(principal)
    try:
        yield
    finally:
        stack.pop()


def current_principal() -> Principal | None:
    stack = getattr(_acting, "stack", None)
    return stack[-1] if stack else None


def is_acting() -> bool:
    return bool(getattr(_acting, "stack", None))


def role_principal(role_arn: str) -> Principal:
    """A deployed role and its identity policies (inline and managed), read from moto's IAM."""
    from moto.iam.models import iam_backends

    role = iam_backends[ACCOUNT_ID]["global"].get_role_by_arn(role_arn)
    policies: list[Mapping[str, Any]] = []
    for document in role.policies.values():
        policies.append(json.loads(document) if isinstance(document, str) else document)
    for managed in role.managed_policies.values():
        [document] = [v.document for v in managed.versions if v.version_id == managed.default_version_id]
        policies.append(json.loads(document) if isinstance(document, str) else document)
    return Principal(role_arn, tuple(policies))


def service_principal(service: str) -> Principal:
    """An AWS service acting on its own behalf (no identity policies: resource policies decide)."""
    return Principal(service)
