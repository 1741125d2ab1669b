"""Step Functions rules the local cloud enforces where moto's interpreter is lenient.

AWS Step Functions developer guide, "Handling errors in Step Functions workflows", error names:
``States.ALL`` "can't catch the ``States.DataLimitExceeded`` terminal error and runtime error
types"; ``States.DataLimitExceeded`` is reported when a connector's output, a state's output, or
a state's input after ``Parameters`` processing is larger than the payload quota (256 KiB,
"Step Functions service quotas"). moto 5.2.5 lets ``States.ALL`` catch and retry it, checks no
input after ``Parameters``, and turns a ``States.*`` error leaving a Map iteration into
``States.Runtime``.
"""

from __future__ import annotations

import json
import time
from unittest import mock

import boto3
from hypothesis import given
from hypothesis import strategies as st
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

from localcloud.moto_patches.stepfunctions import error_equals_matches
from tests.localcloud.test_moto_patch_canaries import _function, _run

QUOTA = 256 * 1024
MOTO_ERROR_EQUALS = ErrorEqualsDecl._eval_body  # moto's own, kept before any patch is installed


def oversized(event, context):
    return {"evidence": "x" * (QUOTA + 1)}


def lambda_task(arn: str, **fields: object) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"},
        **fields,
    }


CAUGHT = {"Type": "Pass", "Result": {"caught": True}, "End": True}


def check_then_caught(arn: str, **fields: object) -> dict:
    return {"StartAt": "Check", "States": {"Check": lambda_task(arn, **fields, End=True), "Caught": CAUGHT}}


def each_ip(iteration: dict, catch: list[dict], caught: dict) -> dict:
    """A Map over ``$.ips`` running ``iteration``, with ``catch`` on the Map leading to ``caught``."""
    map_state = {"Type": "Map", "ItemsPath": "$.ips", "ItemProcessor": iteration, "Catch": catch, "End": True}
    return {"StartAt": "EachIp", "States": {"EachIp": map_state, "Caught": caught}}


def catch_all(next_state: str = "Caught") -> list[dict]:
    return [{"ErrorEquals": ["States.ALL"], "Next": next_state}]


def history(execution_arn: str) -> list[str]:
    events = boto3.client("stepfunctions", region_name="us-east-1").get_execution_history(executionArn=execution_arn)
    return [event["type"] for event in events["events"]]


def test_states_all_does_not_catch_a_result_over_the_payload_quota(runtime):
    arn = _function("big")
    runtime.register("big", oversized)
    definition = {
        "StartAt": "Check",
        "States": {"Check": lambda_task(arn, Catch=catch_all(), End=True), "Caught": CAUGHT},
    }
    result = _run(definition, "catch-all")
    assert (result["status"], result["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert "PassStateEntered" not in history(result["executionArn"])


def test_states_all_does_not_retry_it_either(runtime):
    arn = _function("big")
    runtime.register("big", oversized)
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3}]
    result = _run({"StartAt": "Check", "States": {"Check": lambda_task(arn, Retry=retry, End=True)}}, "retry-all")
    assert (result["status"], result["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert len(runtime.invocations) == 1


def test_named_explicitly_it_is_caught(runtime):
    arn = _function("big")
    runtime.register("big", oversized)
    definition = check_then_caught(arn, Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}])
    result = _run(definition, "catch-named")
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"caught": True}, result


def test_an_oversized_result_in_a_map_iteration_fails_the_execution_with_its_own_name(runtime):
    arn = _function("big")
    runtime.register("big", oversized)
    definition = each_ip(check_then_caught(arn, Catch=catch_all()), catch_all(), CAUGHT)
    result = _run(definition, "map-big", {"ips": ["192.0.2.1"]})
    assert (result["status"], result["error"]) == ("FAILED", "States.DataLimitExceeded")


def test_a_states_error_leaving_an_iteration_reaches_the_maps_catch_by_its_name(runtime):
    arn = _function("slow")
    runtime.register("slow", lambda event, context: time.sleep(1.5))
    iteration = {"StartAt": "Check", "States": {"Check": lambda_task(arn, TimeoutSeconds=1, End=True)}}
    definition = each_ip(
        iteration,
        [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Caught"}],
        {"Type": "Pass", "Parameters": {"error.$": "$.error.Error"}, "End": True},
    )
    result = _run(definition, "map-states-error", {"ips": ["192.0.2.1"]})
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"error": "States.Timeout"}


def test_a_task_input_over_the_quota_after_parameters_fails_before_the_call(runtime):
    arn = _function("echo")
    runtime.register("echo", lambda event, context: {})
    half = "x" * (QUOTA // 2 + 16)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload": {"a.$": "$.half", "b.$": "$.half"}},
        "Catch": catch_all(),
        "End": True,
    }
    result = _run({"StartAt": "Check", "States": {"Check": task, "Caught": CAUGHT}}, "params", {"half": half})
    assert (result["status"], result["error"]) == ("FAILED", "States.DataLimitExceeded")
    assert runtime.invocations == []


def test_canary_moto_still_lets_states_all_catch_a_terminal_error(runtime):
    """When this fails, moto has fixed it: drop the terminal-error patch in localcloud/moto_patches/stepfunctions.py."""
    arn = _function("big")
    runtime.register("big", oversized)
    definition = {
        "StartAt": "Check",
        "States": {"Check": lambda_task(arn, Catch=catch_all(), End=True), "Caught": CAUGHT},
    }
    with mock.patch.object(ErrorEqualsDecl, "_eval_body", MOTO_ERROR_EQUALS):
        result = _run(definition, "moto-own")
    assert result["status"] == "SUCCEEDED"


custom_errors = st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,30}", fullmatch=True).filter(
    lambda n: not n.startswith("States.")
)


@given(custom_errors)
def test_states_all_and_task_failed_match_every_custom_error(name):
    assert error_equals_matches(["States.ALL"], name)
    assert error_equals_matches(["States.TaskFailed"], name)
    assert error_equals_matches([name], name)


def test_terminal_and_runtime_errors():
    assert not error_equals_matches(["States.ALL"], "States.DataLimitExceeded")
    assert error_equals_matches(["States.DataLimitExceeded"], "States.DataLimitExceeded")
    assert not error_equals_matches(["States.ALL"], "States.Runtime")
    assert not error_equals_matches(["States.Runtime"], "States.Runtime")
    assert error_equals_matches(["States.ALL"], "States.Timeout")
    assert not error_equals_matches(["States.TaskFailed"], "States.Timeout")
