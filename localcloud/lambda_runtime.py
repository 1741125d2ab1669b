"""The in-process Lambda runtime: the real handlers, called in this process.

moto's docker-free Lambda backend returns a canned payload. We call
  the real handler instead, in this process, and turn an unhandled exception into a Lambda
  *function error* (``X-Amz-Function-Error: Unhandled`` and ``errorType``) so that the ASL's
  Retry/Catch match on the exception's class name, exactly as on AWS.

Like Lambda it keeps warm containers per function, ends an invocation at its ``Timeout`` with
``Sandbox.Timedout`` and runs each handler as its function's role (localcloud/iam.py).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.functions import writing_to
from localcloud.iam import Principal, acting_as


@dataclass
class LocalLambdaContext:
    """What a handler sees as ``context`` (the attributes Powertools reads)."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: int
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "localcloud"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    function_name: str
    event: Any
    started: float
    duration: float
    error_type: str | None


Handler = Callable[[Any, Any], Any]


def request_id() -> str:
    return str(uuid.uuid4())


# Handler CPU time is not scaled by the time scale, and moto's emulated APIs cost far more CPU
# than AWS's (a 1,200-task listing takes seconds here); this much real time is added to the
# scaled Timeout before an invocation counts as timed out. On AWS each container has its own CPU;
# here invocations running at once share one process's, so each gets the allowance once per
# invocation that ran alongside it (the most at any moment of its run).
CPU_ALLOWANCE_SECONDS = 10.0


class InProcessLambda:
    """Maps deployed function names to real handlers and records every invocation.

    Like Lambda, it keeps warm containers: an invocation takes an idle container of its
    function (or starts one) and gives it back when done. Sequential invocations share one
    container (its cached clients, the Shodan client's pacing); concurrent ones get their own.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        # Lambda ends an invocation at the function's Timeout (Sandbox.Timedout). Locally every
        # wait is scaled by ``time_scale``; CPU time is not, so a fixed allowance is added.
        self.time_scale = time_scale
        self.cpu_allowance = CPU_ALLOWANCE_SECONDS
        self._functions: dict[str, tuple[Callable[[int], Handler], Any]] = {}
        self._principals: dict[str, Principal | None] = {}
        # What Lambda would answer every invocation of a function that cannot import its handler
        # (localcloud/lambda_imports.py): (errorType, errorMessage).
        self._import_errors: dict[str, tuple[str, str]] = {}
        self._idle: dict[str, list[Handler]] = {}
        self._started: dict[str, int] = {}
        self.invocations: list[Invocation] = []
        self._lock = threading.Lock()
        # Each running invocation: the most invocations that ran at once during it (itself included).
        self._sharing: dict[int, int] = {}
        self._next_run = 0

    def register(
        self,
        function_name: str,
        handler: Handler | Callable[[int], Handler],
        log: Any = None,
        principal: Principal | None = None,
        import_error: tuple[str, str] | None = None,
    ) -> None:
        """``handler``: the handler, or a factory ``container number -> handler`` (one module copy
        per container); ``log``: a FunctionLog that receives what the handler prints;
        ``principal``: the function's execution role, whose policies authorise its AWS calls;
        ``import_error``: (errorType, errorMessage) when Lambda could not import the handler's
        dependencies from the function's package and layers: every invocation fails with it."""
        factory = handler if getattr(handler, "is_container_factory", False) else (lambda _n, h=handler: h)
        self._functions[function_name] = (factory, log)  # type: ignore[assignment]
        self._principals[function_name] = principal
        if import_error is not None:
            self._import_errors[function_name] = import_error
        self._idle[function_name] = []
        self._started[function_name] = 0

    def wrap(self, function_name: str, wrapper: Callable[[Handler], Handler]) -> None:
        """Wrap the handler of each container started from now on: a test's probe between a
        function and the states after it (e.g. another sweep's write landing in between)."""
        factory, log = self._functions[function_name]
        self._functions[function_name] = (lambda number: wrapper(factory(number)), log)
        self._idle[function_name] = []

    def containers_started(self, function_name: str) -> int:
        return self._started.get(function_name, 0)

    def _acquire(self, function_name: str) -> Handler:
        with self._lock:
            if self._idle[function_name]:
                return self._idle[function_name].pop()
            number = self._started[function_name]
            self._started[function_name] += 1
        return self._functions[function_name][0](number)

    def _release(self, function_name: str, handler: Handler) -> None:
        with self._lock:
            self._idle[function_name].append(handler)

    def _begin_run(self) -> int:
        with self._lock:
            run, self._next_run = self._next_run, self._next_run + 1
            self._sharing[run] = 0
            running = len(self._sharing)
            for other in self._sharing:
                self._sharing[other] = max(self._sharing[other], running)
            return run

    def _end_run(self, run: int) -> int:
        """How many invocations shared the CPU with ``run`` at most (itself included)."""
        with self._lock:
            return self._sharing.pop(run)

    def invoke(self, fn: Any, body: bytes | str | None) -> tuple[bytes, str | None]:
        """Run the handler of moto's function ``fn``; return (payload, function error or None)."""
        if fn.function_name not in self._functions:
            raise KeyError(f"no in-process handler registered for Lambda function {fn.function_name}")
        log = self._functions[fn.function_name][1]
        raw = body.decode() if isinstance(body, bytes) else (body or "{}")
        event = json.loads(raw) if raw.strip() else {}
        if fn.function_name in self._import_errors:
            error_type, message = self._import_errors[fn.function_name]
            with self._lock:
                self.invocations.append(Invocation(fn.function_name, event, time.monotonic(), 0.0, error_type))
            answer = {"errorMessage": message, "errorType": error_type, "requestId": request_id(), "stackTrace": []}
            return json.dumps(answer).encode(), "Unhandled"
        handler = self._acquire(fn.function_name)
        context = LocalLambdaContext(
            function_name=fn.function_name,
            memory_limit_in_mb=int(fn.memory_size or 128),
            timeout_seconds=int(fn.timeout or 3),
            invoked_function_arn=fn.function_arn,
        )
        started = time.monotonic()
        run = self._begin_run()
        error_type = None
        try:
            with writing_to(log), acting_as(self._principals.get(fn.function_name)):
                try:
                    result = handler(event, context)
                finally:
                    self._release(fn.function_name, handler)
                    sharing = self._end_run(run)
            payload = json.dumps(result).encode()
            limit = context.timeout_seconds * self.time_scale + self.cpu_allowance * sharing
            if time.monotonic() - started > limit:
                # Lambda would have ended the invocation at its Timeout; what it wrote so far stays.
                error_type = "Sandbox.Timedout"
                message = f"Task timed out after {context.timeout_seconds:.2f} seconds"
                payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        except Exception as exc:
            # What the Lambda runtime answers for an unhandled exception.
            error_type = type(exc).__name__
            payload = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": error_type,
                    "requestId": context.aws_request_id,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        with self._lock:
            self.invocations.append(
                Invocation(fn.function_name, event, started, time.monotonic() - started, error_type)
            )
        return payload, ("Unhandled" if error_type else None)
