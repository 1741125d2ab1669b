"""Verified rotation: the tracker's plan / observe / judge steps and their bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ics_honeynet.rotation import InvalidRotationInput, advance, prior_owner_verdict, should_rotate
from localcloud.functions import load_handler

EVENT = Path(__file__).resolve().parents[2] / "events" / "track_rotation.json"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def task(name: str, minutes: float = 0) -> dict:
    return {
        "ip": f"203.0.113.{name}",
        "taskArn": f"arn:task/{name}",
        "startedAt": (NOW + timedelta(minutes=minutes)).isoformat(),
    }


def planned(rotate_on: str = "fingerprinted", **settings: object) -> dict:
    results = [
        {"ip": "192.0.2.1", "taskArn": "arn:task/a", "verdict": "FINGERPRINTED"},
        {"ip": "192.0.2.2", "taskArn": "arn:task/b", "verdict": "INDEXED"},
        {"ip": "192.0.2.3", "taskArn": None, "verdict": "FINGERPRINTED"},  # an extra IP: never ours to move
    ]
    event = {"action": "plan", "execution": "sweep-1", "rotateOn": rotate_on, "results": results, **settings}
    return advance(event, now=NOW)


def stopped_all(state: dict) -> dict:
    return state | {"stopResults": [{"taskArn": o["taskArn"], "ip": o["ip"], "stopped": True} for o in state["toStop"]]}


def test_plan_stops_only_our_tasks_that_rotate_on_says_must_move():
    state = planned()
    assert state["next"] == "stop"
    assert [o["taskArn"] for o in state["toStop"]] == ["arn:task/a"]
    assert state["toStop"][0]["reason"] == "ics-honeynet sweep sweep-1: rotation 1 of 192.0.2.1 (FINGERPRINTED)"
    assert [o["taskArn"] for o in planned("indexed")["toStop"]] == ["arn:task/a", "arn:task/b"]
    assert planned("never")["next"] == "done" and planned("never")["outcome"] == []


def test_a_clean_replacement_ends_the_chain_as_rotated():
    state = advance({"action": "observe", "rotation": stopped_all(planned()) | {"observed": [task("9", 1)]}}, now=NOW)
    assert state["next"] == "check" and state["toCheck"] == [task("9", 1)]
    lookups = [{"ip": "203.0.113.9", "verdict": "NOT_INDEXED", "priorOwner": None}]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    assert state["next"] == "done"
    [outcome] = state["outcome"]
    assert outcome["reason"] is None
    assert "service" not in outcome  # the stop's answer named no group: any replacement would do
    assert (outcome["from"], outcome["to"], outcome["status"], outcome["attempts"]) == (
        "192.0.2.1",
        "203.0.113.9",
        "ROTATED",
        1,
    )


def test_tasks_from_before_the_stop_are_not_replacements():
    old = task("5", -30)
    state = advance({"action": "observe", "rotation": stopped_all(planned()) | {"observed": [old]}}, now=NOW)
    assert state["next"] == "wait" and state["checksLeft"] == 9


def test_a_dirty_replacement_is_rotated_again_and_the_bound_is_honoured():
    state = planned(maxAttempts=2)
    dirty = {"verdict": "NOT_INDEXED", "priorOwner": {"banners": 3, "tags": ["honeypot"]}}
    for attempt, name in enumerate(("7", "8"), start=1):
        state = advance(
            {"action": "observe", "rotation": stopped_all(state) | {"observed": [task(name, attempt)]}}, now=NOW
        )
        state = advance(
            {"action": "judge", "rotation": state | {"lookups": [{"ip": f"203.0.113.{name}", **dirty}]}}, now=NOW
        )
        if attempt == 1:
            assert state["next"] == "stop" and state["toStop"][0]["taskArn"] == "arn:task/7"
            assert "rotation 2 of 192.0.2.1" in state["toStop"][0]["reason"]
            assert "FINGERPRINTED by a prior owner" in state["toStop"][0]["reason"]
    assert state["next"] == "done"
    [outcome] = state["outcome"]
    assert outcome["status"] == "FAILED" and outcome["attempts"] == 2 and outcome["to"] is None
    assert outcome["via"] == ["203.0.113.7", "203.0.113.8"]
    assert "still on a dirty IP after 2 rotation(s)" in outcome["reason"]


def test_waiting_is_bounded():
    state = stopped_all(planned(replacementChecks=2, replacementWaitSeconds=30))
    state = advance({"action": "observe", "rotation": state | {"observed": []}}, now=NOW)
    assert state["next"] == "wait"
    state = advance({"action": "observe", "rotation": state | {"observed": []}}, now=NOW)
    assert state["next"] == "done"
    assert state["outcome"][0]["reason"] == "no replacement task with a public IP within 60 s"


def test_a_stop_ecs_refused_fails_that_chain_only():
    state = planned("indexed")
    state["stopResults"] = [
        {"taskArn": "arn:task/a", "ip": "192.0.2.1", "stopped": False, "error": "Ecs.InvalidParameterException"},
        {"taskArn": "arn:task/b", "ip": "192.0.2.2", "stopped": True},
    ]
    state = advance({"action": "observe", "rotation": state | {"observed": {"ips": [task("9", 1)]}}}, now=NOW)
    failed, moving = state["chains"]
    assert failed["status"] == "FAILED" and "Ecs.InvalidParameterException" in failed["reason"]
    assert moving["status"] == "CHECKING" and moving["hops"][0]["ip"] == "203.0.113.9"


def test_an_unverifiable_replacement_is_kept_and_said_so():
    state = advance({"action": "observe", "rotation": stopped_all(planned()) | {"observed": [task("9", 1)]}}, now=NOW)
    lookups = [{"ip": "203.0.113.9", "verdict": "ERROR", "error": "ShodanUnavailableError"}]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    [outcome] = state["outcome"]
    assert outcome["status"] == "ROTATED" and "not verified: ShodanUnavailableError" in outcome["reason"]


@pytest.mark.parametrize(
    ("prior", "expected"),
    [
        (None, "NOT_INDEXED"),
        ({"banners": 0}, "NOT_INDEXED"),
        ({"banners": 2, "tags": []}, "INDEXED"),
        ({"banners": 2, "tags": ["honeypot"]}, "FINGERPRINTED"),
    ],
)
def test_prior_owner_verdict(prior, expected):
    assert prior_owner_verdict(prior) == expected


def test_should_rotate_table():
    assert should_rotate("INDEXED", "indexed") and should_rotate("FINGERPRINTED", "indexed")
    assert not should_rotate("INDEXED", "fingerprinted") and should_rotate("FINGERPRINTED", "fingerprinted")
    assert not should_rotate("FINGERPRINTED", "never") and not should_rotate("ERROR", "indexed")


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidRotationInput, match="action must be one of"):
        advance({"action": "rotate"})
    with pytest.raises(InvalidRotationInput, match="rotateOn must be one of"):
        advance({"action": "plan", "rotateOn": "always"})
    with pytest.raises(InvalidRotationInput, match="maxAttempts must be at least 1"):
        advance({"action": "plan", "rotateOn": "indexed", "maxAttempts": 0})
    with pytest.raises(InvalidRotationInput, match="rotation must be the state"):
        advance({"action": "judge", "rotation": None})


def test_event_file_through_the_handler(lambda_context):
    out = load_handler("track_rotation")(json.loads(EVENT.read_text()), lambda_context)
    json.dumps(out)
    # The replacement IP is not indexed for us, but a prior owner's honeypot got it tagged: dirty.
    assert out["next"] == "stop"
    [order] = out["toStop"]
    assert order["ip"] == "203.0.113.150" and "FINGERPRINTED by a prior owner" in order["reason"]


def test_every_step_says_what_to_report_if_the_rotation_is_aborted():
    state = planned("indexed")
    assert [(o["from"], o["status"]) for o in state["ifAborted"]] == [("192.0.2.1", "FAILED"), ("192.0.2.2", "FAILED")]
    assert all("rotation was aborted" in o["reason"] for o in state["ifAborted"])
    state = advance({"action": "observe", "rotation": stopped_all(state) | {"observed": [task("9", 1)]}}, now=NOW)
    lookups = [{"ip": "203.0.113.9", "verdict": "NOT_INDEXED", "priorOwner": None}]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    done, waiting = state["ifAborted"]
    assert done["status"] == "ROTATED" and done["to"] == "203.0.113.9"  # finished chains stay finished
    assert waiting["status"] == "FAILED" and waiting["to"] is None


def test_a_task_the_sweep_saw_still_starting_is_not_taken_for_a_replacement():
    starting = task("6", 2)
    state = advance(
        {
            "action": "plan",
            "execution": "sweep-1",
            "rotateOn": "fingerprinted",
            "results": [{"ip": "192.0.2.1", "taskArn": "arn:task/a", "verdict": "FINGERPRINTED"}],
            "skipped": [{"taskArn": starting["taskArn"], "reason": "task is PROVISIONING, not RUNNING"}],
        },
        now=NOW,
    )
    state = advance(
        {"action": "observe", "rotation": stopped_all(state) | {"observed": [starting, task("9", 3)]}}, now=NOW
    )
    assert [h["ip"] for h in state["chains"][0]["hops"]] == ["203.0.113.9"]


def test_a_replacement_keeps_the_template_its_service_serves_for_the_history():
    replacement = task("9", 1) | {"template": "ipmi"}
    state = advance({"action": "observe", "rotation": stopped_all(planned()) | {"observed": [replacement]}}, now=NOW)
    lookups = [{"ip": "203.0.113.9", "verdict": "NOT_INDEXED", "priorOwner": None}]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    [outcome] = state["outcome"]
    assert outcome["toTemplate"] == "ipmi"
    # A replacement listed without one (an older ListHoneypotIps) leaves the key out.
    state = advance({"action": "observe", "rotation": stopped_all(planned()) | {"observed": [task("9", 1)]}}, now=NOW)
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    assert "toTemplate" not in state["outcome"][0]


def test_each_chain_takes_a_replacement_its_own_service_started_whatever_the_start_order():
    # Two services rotate in one sweep: ECS says which service started each new task (its group),
    # never which task replaces which. The ipmi service's replacement starts first.
    state = planned("indexed")
    groups = {"arn:task/a": "service:honeynet-default", "arn:task/b": "service:honeynet-ipmi"}
    stopped = state | {"stopResults": [o | {"stopped": True, "group": groups[o["taskArn"]]} for o in state["toStop"]]}
    observed = [
        task("8", 1) | {"service": "honeynet-ipmi", "template": "ipmi"},
        task("9", 2) | {"service": "honeynet-default", "template": "default"},
    ]
    state = advance({"action": "observe", "rotation": stopped | {"observed": observed}}, now=NOW)
    assert [(c["from"]["taskArn"], c["service"], [h["taskArn"] for h in c["hops"]]) for c in state["chains"]] == [
        ("arn:task/a", "honeynet-default", ["arn:task/9"]),
        ("arn:task/b", "honeynet-ipmi", ["arn:task/8"]),
    ]
    lookups = [{"ip": f"203.0.113.{n}", "verdict": "NOT_INDEXED", "priorOwner": None} for n in "89"]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    assert [(o["from"], o["to"], o["toTemplate"], o["service"]) for o in state["outcome"]] == [
        ("192.0.2.1", "203.0.113.9", "default", "honeynet-default"),
        ("192.0.2.2", "203.0.113.8", "ipmi", "honeynet-ipmi"),
    ]


def test_a_chain_waits_while_only_another_services_task_has_started():
    state = planned()
    group = "service:honeynet-default"
    stopped = state | {"stopResults": [o | {"stopped": True, "group": group} for o in state["toStop"]]}
    other = task("8", 1) | {"service": "honeynet-ipmi"}
    state = advance({"action": "observe", "rotation": stopped | {"observed": [other]}}, now=NOW)
    assert state["next"] == "wait" and state["chains"][0]["hops"] == []
    # A task listed without its service (an older ListHoneypotIps) may still be taken.
    state = advance({"action": "observe", "rotation": stopped | {"observed": [task("9", 1)]}}, now=NOW)
    assert [h["taskArn"] for h in state["chains"][0]["hops"]] == ["arn:task/9"]


def test_a_stop_the_exposure_table_did_not_count_is_said_in_the_outcome():
    state = planned()
    results = [o | {"stopped": True, "countError": "DynamoDB.ResourceNotFoundException"} for o in state["toStop"]]
    state = advance({"action": "observe", "rotation": state | {"stopResults": results, "observed": [task("9", 1)]}},
                    now=NOW)  # fmt: skip
    lookups = [{"ip": "203.0.113.9", "verdict": "NOT_INDEXED", "priorOwner": None}]
    state = advance({"action": "judge", "rotation": state | {"lookups": lookups}}, now=NOW)
    [outcome] = state["outcome"]
    assert (outcome["status"], outcome["to"], outcome["uncounted"]) == ("ROTATED", "203.0.113.9", 1)
