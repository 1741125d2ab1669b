"""Step Functions: moto's interpreter, made to behave as AWS's.

- ``aws-sdk PascalCase``: Step Functions' ``aws-sdk:*`` integrations take PascalCase parameters
  (``Cluster``, ``Task``) and answer PascalCase (``Task.TaskArn``); moto's interpreter left
  the normalisation hooks empty. We fill them with the botocore shape-driven converters the
  interpreter already ships.
- ``time scale``: Retry and Wait intervals really sleep in moto. The ASL keeps intervals that
  are right for AWS; the local cloud multiplies every sleep by a factor (and says so).
- ``CloudFormation state machines``: moto's CloudFormation creates state machines in the plain
  Step Functions backend, while the API (with execution on) serves the interpreter's backend,
  so a stack's state machine would be invisible. We point CloudFormation at the interpreter's.
- ``terminal errors``: moto lets a ``States.ALL`` Retry or Catch match every error. On AWS
  ``States.ALL`` cannot catch ``States.DataLimitExceeded`` (terminal) or ``States.Runtime``,
  and a Runtime error is never retried or caught (Step Functions developer guide, "Handling
  errors", error names). We match as AWS does, so a too-large payload fails the execution
  instead of being recorded as a per-IP error.
- ``payload quota after Parameters``: moto checks the 256 KiB quota on a state's output and a
  task's result, not on a Task's input after ``Parameters`` processing (also
  ``States.DataLimitExceeded`` on AWS); we check it too. And a Map iteration or Parallel branch
  that fails with one of Step Functions' own errors (``States.*``) crashes moto's propagation
  (it builds a *custom* error name from it) into ``States.Runtime``; we propagate the error as
  AWS does, so the Map's own Retry/Catch sees the real name.
- ``retry counters per state entry``: a retrier keeps its attempt count and backoff multiplier
  in the running state's heap, under a key each component draws the first time it is asked. Two
  Map iterations reaching a retrier at once could both draw one, so the attempt count of one was
  kept under a key nobody read again and that iteration retried once more than ``MaxAttempts``
  (seen: four retries of a ``MaxAttempts: 3`` StoreEvidence). On AWS every iteration has its own
  ``MaxAttempts`` (Step Functions developer guide, "Handling errors", retriers). The key is drawn
  under a lock.
- ``retries recorded``: every retry the interpreter makes is recorded (``RETRY_WAITS``: the
  execution, the state, the error, the Map item, which retry, the backoff ceiling and the jittered wait, in
  the ASL's seconds), so a test can count a state's retries and check its backoff as the
  console's history would show them.
- ``EnteredTime on the local cloud's clock``: ``$$.State.EnteredTime`` (the sweep writes it as a
  rotated tenure's end) is read from the local cloud's wall clock (localcloud/clock.py), so it
  agrees with ECS's task times and the handlers' ``datetime.now`` when a scenario runs on a
  simulated clock; by default that clock is real time, as moto's.
"""

from __future__ import annotations

import contextlib
import datetime as _datetime
import threading
import time
from dataclasses import dataclass
from typing import Any

from localcloud.moto_patches.base import patch_attr

_operation_models: dict[tuple[str, str], Any] = {}


def _operation_model(service_name: str, snake_action: str) -> Any:
    key = (service_name, snake_action)
    if key not in _operation_models:
        import botocore.session
        from botocore import xform_name

        model = botocore.session.get_session().get_service_model(service_name)
        for op_name in model.operation_names:
            if xform_name(op_name) == snake_action:
                _operation_models[key] = model.operation_model(op_name)
                break
        else:
            raise ValueError(f"{service_name} has no API action {snake_action}")
    return _operation_models[key]


def aws_sdk_normalisation() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )

    def normalise_parameters(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if op.input_shape is not None:
            self._to_boto_request(parameters, op.input_shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        op = _operation_model(
            self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
        )
        if op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    stack = contextlib.ExitStack()
    stack.enter_context(patch_attr(StateTaskServiceAwsSdk, "_normalise_parameters", normalise_parameters))
    stack.enter_context(patch_attr(StateTaskServiceAwsSdk, "_normalise_response", normalise_response))
    return stack


class _WallClockDatetime:
    """Stands in for the ``datetime`` module in moto's state component, which reads it only for
    ``EnteredTime``: ``datetime.datetime.now(tz=...)`` is the local cloud's clock."""

    class datetime(_datetime.datetime):  # the name moto's code reads
        @classmethod
        def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:
            from localcloud import clock

            return clock.now().astimezone(tz) if tz is not None else clock.now().replace(tzinfo=None)

    def __getattr__(self, name: str) -> Any:
        return getattr(_datetime, name)


def entered_time_on_the_wall_clock() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.state import state

    return patch_attr(state, "datetime", _WallClockDatetime())


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's retrier: only ``sleep`` is scaled."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def time_scale(scale: float) -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        # The original re-waits the remainder after an interrupt, measured in whole seconds;
        # a scaled wait is short, so one interruptible wait is enough.
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * scale)

    stack = contextlib.ExitStack()
    stack.enter_context(patch_attr(retrier_decl, "time", _ScaledTime(scale)))
    stack.enter_context(patch_attr(WaitFunction, "_wait_interval", wait_interval))
    return stack


NOT_MATCHED_BY_STATES_ALL = frozenset({"States.DataLimitExceeded", "States.Runtime"})


NEVER_MATCHED = frozenset({"States.Runtime"})  # "not retriable and will always cause the execution to fail"


def error_equals_matches(declared: list[str], error: str | None) -> bool:
    """Whether a Retrier's or Catcher's ``ErrorEquals`` matches ``error``, as Step Functions does."""
    if error in NEVER_MATCHED:
        return False
    if error in declared:
        return True
    if "States.ALL" in declared:
        return error not in NOT_MATCHED_BY_STATES_ALL
    # States.TaskFailed matches every error a task reports that is not one of Step Functions' own.
    return "States.TaskFailed" in declared and not (error or "").startswith("States.")


def terminal_errors() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

    def eval_body(self: Any, env: Any) -> None:
        error = env.stack.pop()
        declared = [name.error_name for name in self.error_names]
        env.stack.append(error_equals_matches(declared, error.error_name))

    original_eval_parameters = StateTask._eval_parameters

    def eval_parameters(self: Any, env: Any) -> dict[str, Any]:
        parameters: dict[str, Any] = original_eval_parameters(self, env)
        self._verify_size_quota(env=env, value=parameters)
        return parameters

    stack = contextlib.ExitStack()
    stack.enter_context(patch_attr(ErrorEqualsDecl, "_eval_body", eval_body))
    stack.enter_context(patch_attr(StateTask, "_eval_parameters", eval_parameters))
    for module in (iteration_worker, branches_decl):
        stack.enter_context(patch_attr(module, "CustomErrorName", _error_name))
    return stack


def _error_name(error_name: str) -> Any:
    """An error name as moto's components expect it: Step Functions' own, or a custom one."""
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName

    if error_name.startswith("States."):
        return StatesErrorName.from_name(error_name)
    return CustomErrorName(error_name=error_name)


def cloudformation_state_machines_executable() -> contextlib.AbstractContextManager[Any]:
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return patch_attr(models, "stepfunctions_backends", stepfunctions_parser_backends)


@dataclass(frozen=True)
class RetryWait:
    """One retry the interpreter made, in the ASL's seconds (before the time scale)."""

    execution: str
    state: str
    error: str
    item: Any  # the Map item this retry's iteration runs for (None outside a Map)
    retry: int  # 1 for the state's first retry
    ceiling: float  # IntervalSeconds x BackoffRate^(retry - 1), capped at MaxDelaySeconds
    wait: float  # after JitterStrategy (FULL: uniform in [0, ceiling])


RETRY_WAITS: list[RetryWait] = []


def retries_recorded() -> contextlib.AbstractContextManager[Any]:
    """moto's RetrierDecl._eval_body, step for step, recording each retry it decides on."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
    from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome

    def eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1]  # RetryDecl pushed it for this retrier
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        ceiling = float(env.stack[-1])
        self.jitter_strategy.eval(env=env)
        wait = float(env.stack.pop())
        context = env.states.context_object.context_object_data
        RETRY_WAITS.append(
            RetryWait(
                execution=context["Execution"]["Name"],
                state=context["State"]["Name"],
                error=error_name.error_name,
                item=(context.get("Map") or {}).get("Item", {}).get("Value"),
                retry=int(context["State"]["RetryCount"]) + 1,
                ceiling=ceiling,
                wait=wait,
            )
        )
        retrier_decl.time.sleep(wait)  # scaled by time_scale()
        env.stack.append(RetrierOutcome.Executed)

    RETRY_WAITS.clear()
    return patch_attr(retrier_decl.RetrierDecl, "_eval_body", eval_body)


def retry_counters_per_state_entry() -> contextlib.AbstractContextManager[Any]:
    """EvalComponent.heap_key, drawn once per component even when threads ask at once."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.utils import long_uid

    lock = threading.Lock()
    attribute = "_EvalComponent__heap_key"  # the name-mangled cache behind moto's property

    def heap_key(self: Any) -> str:
        with lock:
            key: str | None = getattr(self, attribute, None)
            if key is None:
                key = long_uid()
                setattr(self, attribute, key)
            return key

    return patch_attr(EvalComponent, "heap_key", property(heap_key))
