"""Verified rotation, state by state: the whole state each step returns to the state machine (the
ASL reads next, toStop, toCheck, outcome and ifAborted from it), compared whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ics_honeynet.rotation import InvalidRotationInput, advance, outcome

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
ABORTED = "the rotation was aborted before this honeypot had a verified new IP (see the sweep's error)"
A = {"ip": "192.0.2.1", "taskArn": "arn:task/a", "verdict": "FINGERPRINTED"}
C = {"ip": "192.0.2.4", "taskArn": "arn:task/c", "verdict": "FINGERPRINTED"}
R1 = {"ip": "203.0.113.1", "taskArn": "arn:task/r1", "startedAt": "2026-11-25T01:01:00+00:00"}
R2 = {"ip": "203.0.113.2", "taskArn": "arn:task/r2", "startedAt": "2026-11-25T01:03:00+00:00"}
SETTINGS = {"execution": "sweep-1", "rotateOn": "fingerprinted", "maxAttempts": 2, "replacementChecks": 2,
            "replacementWaitSeconds": 30, "notReplacements": ["arn:task/starting"]}  # fmt: skip
STOP_REFUSED = "ECS did not stop task arn:task/c: Ecs.InvalidParameterException"


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def reported(origin: dict, **fields: object) -> dict:
    """One chain as the report shows it; not rotated unless ``fields`` say so."""
    base = {"from": origin["ip"], "fromTask": origin["taskArn"], "verdict": origin["verdict"], "to": None,
            "toTask": None, "toStartedAt": None, "toVerdict": None, "via": [], "attempts": 1, "status": "FAILED",
            "reason": ABORTED}  # fmt: skip
    return base | fields


def test_a_rotation_walked_state_by_state():
    results = [A, {"ip": "192.0.2.2", "taskArn": "arn:task/b", "verdict": "INDEXED"},
               {"ip": "192.0.2.3", "taskArn": None, "verdict": "FINGERPRINTED"}, C]  # fmt: skip
    skipped = [{"taskArn": "arn:task/starting", "reason": "no public IP yet"}, {"reason": "no task"}]
    event = {"action": "plan", "results": results, "skipped": skipped} | SETTINGS
    del event["notReplacements"]
    state = advance(event, now=NOW)
    c_failed = reported(C, reason=STOP_REFUSED)
    assert state == SETTINGS | {
        "chains": [{"from": A, "hops": [], "status": "WAITING"}, {"from": C, "hops": [], "status": "WAITING"}],
        "toStop": [
            {"taskArn": "arn:task/a", "ip": "192.0.2.1",
             "reason": "ics-honeynet sweep sweep-1: rotation 1 of 192.0.2.1 (FINGERPRINTED)"},
            {"taskArn": "arn:task/c", "ip": "192.0.2.4",
             "reason": "ics-honeynet sweep sweep-1: rotation 1 of 192.0.2.4 (FINGERPRINTED)"},
        ],
        "toCheck": [],
        "next": "stop",
        "ifAborted": [reported(A), reported(C)],
        "roundStartedAt": "2026-11-25T01:00:00+00:00",
        "checksLeft": 2,
    }  # fmt: skip

    # ECS stopped one task and refused the other; the service started tasks meanwhile.
    observed = [
        {"ip": "203.0.113.9", "taskArn": "arn:task/starting", "startedAt": at(1).isoformat()},  # seen starting
        {"ip": "203.0.113.8", "taskArn": "arn:task/old", "startedAt": at(-30).isoformat()},  # before the stop
        {"ip": "192.0.2.1", "taskArn": "arn:task/a", "startedAt": at(2).isoformat()},  # in a chain already
        {"ip": "203.0.113.7", "taskArn": "arn:task/undated", "startedAt": "not a time"},
        {"ip": None, "taskArn": "arn:task/no-ip", "startedAt": at(1).isoformat()},
        R1,
    ]
    refused = {"taskArn": "arn:task/c", "ip": "192.0.2.4", "stopped": False, "error": "Ecs.InvalidParameterException"}
    stops = [{"taskArn": "arn:task/a", "ip": "192.0.2.1", "stopped": True}, refused]
    state = advance({"action": "observe", "rotation": state | {"stopResults": stops, "observed": {"ips": observed}}},
                    now=at(1))  # fmt: skip
    assert state == SETTINGS | {
        "chains": [{"from": A, "hops": [R1], "status": "CHECKING"},
                   {"from": C, "hops": [], "status": "FAILED", "reason": STOP_REFUSED}],
        "toStop": [],
        "toCheck": [R1],
        "next": "check",
        "ifAborted": [reported(A, via=["203.0.113.1"]), c_failed],
        "roundStartedAt": "2026-11-25T01:00:00+00:00",
        "checksLeft": 1,
    }  # fmt: skip

    # The replacement's IP carries a prior owner's honeypot tag: rotate again.
    dirty = {"ip": "203.0.113.1", "verdict": "NOT_INDEXED", "priorOwner": {"banners": 2, "tags": ["honeypot"]}}
    state = advance({"action": "judge", "rotation": state | {"lookups": [dirty, {"verdict": "INDEXED"}]}}, now=at(2))
    r1_judged = R1 | {
        "verdict": "NOT_INDEXED",
        "priorOwner": "FINGERPRINTED",
        "dirty": "FINGERPRINTED by a prior owner",
    }
    assert state == SETTINGS | {
        "chains": [{"from": A, "hops": [r1_judged], "status": "WAITING"},
                   {"from": C, "hops": [], "status": "FAILED", "reason": STOP_REFUSED}],
        "toStop": [{"taskArn": "arn:task/r1", "ip": "203.0.113.1", "reason": (
            "ics-honeynet sweep sweep-1: rotation 2 of 192.0.2.1 (replacement IP 203.0.113.1 is FINGERPRINTED by a "
            "prior owner)")}],
        "toCheck": [],
        "next": "stop",
        "ifAborted": [reported(A, via=["203.0.113.1"]), c_failed],
        "roundStartedAt": "2026-11-25T01:02:00+00:00",
        "checksLeft": 2,
    }  # fmt: skip

    # No replacement at the first look; one at the second.
    stopped = [{"taskArn": "arn:task/r1", "ip": "203.0.113.1", "stopped": True}]
    state = advance({"action": "observe", "rotation": state | {"stopResults": stopped, "observed": []}}, now=at(2.5))
    assert (state["next"], state["checksLeft"], state["chains"][0]["status"], state["toCheck"]) == (
        "wait",
        1,
        "WAITING",
        [],
    )
    state = advance({"action": "observe", "rotation": state | {"observed": [R1, R2]}}, now=at(3))
    assert (state["next"], state["checksLeft"], state["toCheck"]) == ("check", 0, [R2])
    assert state["chains"][0] == {"from": A, "hops": [r1_judged, R2], "status": "CHECKING"}

    # Shodan cannot answer for the new IP: kept, reported not verified.
    unanswered = {"ip": "203.0.113.2", "verdict": "ERROR", "error": "ShodanUnavailableError"}
    state = advance({"action": "judge", "rotation": state | {"lookups": [unanswered]}}, now=at(4))
    r2_judged = R2 | {"verdict": "ERROR", "error": "ShodanUnavailableError"}
    not_verified = "replacement IP 203.0.113.2 not verified: ShodanUnavailableError"
    assert state["chains"][0] == {
        "from": A,
        "hops": [r1_judged, r2_judged],
        "status": "ROTATED",
        "reason": not_verified,
    }
    rotated = reported(A, to="203.0.113.2", toTask="arn:task/r2", toStartedAt="2026-11-25T01:03:00+00:00",
                       toVerdict="ERROR", via=["203.0.113.1"], attempts=2, status="ROTATED",
                       reason=not_verified)  # fmt: skip
    assert (state["next"], state["toStop"], state["toCheck"]) == ("done", [], [])
    assert state["outcome"] == state["ifAborted"] == outcome(state) == [rotated, c_failed]
    assert "lookups" not in state and "observed" not in state and "stopResults" not in state


def judged(lookup: dict, rotate_on: str = "fingerprinted", max_attempts: int = 3) -> dict:
    state = advance({"action": "plan", "results": [A], "rotateOn": rotate_on, "maxAttempts": max_attempts,
                     "execution": "sweep-1"}, now=NOW)  # fmt: skip
    stopped = [{"taskArn": "arn:task/a", "stopped": True}]
    state = advance({"action": "observe", "rotation": state | {"stopResults": stopped, "observed": [R1]}}, now=at(1))
    return advance({"action": "judge", "rotation": state | {"lookups": [{"ip": R1["ip"], **lookup}]}}, now=at(2))


def test_a_clean_replacement_ends_the_chain_rotated_without_a_reason():
    state = judged({"verdict": "NOT_INDEXED", "priorOwner": None})
    assert state["chains"][0] == {"from": A, "hops": [R1 | {"verdict": "NOT_INDEXED", "priorOwner": "NOT_INDEXED"}],
                                  "status": "ROTATED"}  # fmt: skip
    assert state["outcome"] == [reported(A, to="203.0.113.1", toTask="arn:task/r1", toStartedAt=R1["startedAt"],
                                         toVerdict="NOT_INDEXED", attempts=1, status="ROTATED",
                                         reason=None)]  # fmt: skip
    # Indexed by a prior owner is clean when only fingerprinted IPs rotate; dirty under indexed.
    prior = {"verdict": "NOT_INDEXED", "priorOwner": {"banners": 1, "tags": ["ics"]}}
    assert judged(prior)["chains"][0]["status"] == "ROTATED"
    assert judged(prior, rotate_on="indexed")["chains"][0]["hops"][0]["dirty"] == "INDEXED by a prior owner"
    assert judged({"verdict": "INDEXED"}, rotate_on="indexed")["chains"][0]["hops"][0]["dirty"] == "INDEXED"


def test_a_dirty_replacement_at_the_bound_fails_the_chain():
    state = judged({"verdict": "FINGERPRINTED"}, max_attempts=1)
    why = "still on a dirty IP after 1 rotation(s): 203.0.113.1 is FINGERPRINTED"
    assert state["chains"][0]["status"] == "FAILED" and state["next"] == "done"
    assert state["outcome"] == [reported(A, via=["203.0.113.1"], reason=why)]


def test_no_lookup_for_the_replacement_keeps_it_not_verified():
    state = judged({"ip": "198.51.100.99", "verdict": "NOT_INDEXED"})  # an answer for another IP
    [hop] = state["chains"][0]["hops"]
    assert hop == R1 | {"verdict": "ERROR", "error": "no Shodan answer for the replacement IP"}
    assert (
        state["outcome"][0]["reason"]
        == "replacement IP 203.0.113.1 not verified: no Shodan answer for the replacement IP"
    )


def test_no_replacement_within_the_checks_fails_the_chain_and_says_how_long():
    state = advance({"action": "plan", "results": [A], "rotateOn": "fingerprinted", "replacementChecks": 2,
                     "replacementWaitSeconds": 45}, now=NOW)  # fmt: skip
    assert state["toStop"][0]["reason"] == "ics-honeynet sweep manual: rotation 1 of 192.0.2.1 (FINGERPRINTED)"
    for look in (1, 2):
        state = advance({"action": "observe", "rotation": state | {"observed": []}}, now=at(look))
    assert state["outcome"] == [reported(A, reason="no replacement task with a public IP within 90 s")]
    assert state["next"] == "done" and state["checksLeft"] == 0


def test_plan_reads_its_settings_with_defaults_and_refuses_bad_ones():
    state = advance({"action": "plan", "results": [], "rotateOn": "indexed"}, now=NOW)
    assert state == {"execution": "manual", "rotateOn": "indexed", "maxAttempts": 3, "replacementChecks": 10,
                     "replacementWaitSeconds": 30, "chains": [], "notReplacements": [], "toStop": [], "toCheck": [],
                     "next": "done", "ifAborted": [], "outcome": []}  # fmt: skip
    assert advance({"action": "plan"}, now=NOW)["rotateOn"] == "never"
    assert advance({"action": "plan", "replacementWaitSeconds": 0}, now=NOW)["replacementWaitSeconds"] == 0
    for bad, message in [
        ({"rotateOn": "sometimes"}, "rotateOn must be one of never, indexed, fingerprinted, not 'sometimes'"),
        ({"results": {"ip": "x"}}, "results must be the sweep's list of per-IP results"),
        ({"maxAttempts": "two"}, "maxAttempts must be a whole number, not 'two'"),
        ({"maxAttempts": None}, "maxAttempts must be a whole number, not None"),
        ({"maxAttempts": 0}, "maxAttempts must be at least 1, not 0"),
        ({"replacementChecks": 0}, "replacementChecks must be at least 1, not 0"),
        ({"replacementWaitSeconds": -1}, "replacementWaitSeconds must be at least 0, not -1"),
    ]:
        with pytest.raises(InvalidRotationInput) as refused:
            advance({"action": "plan"} | bad, now=NOW)
        assert str(refused.value) == message
    for bad in ({"action": "stop"}, {}):
        with pytest.raises(InvalidRotationInput) as refused:
            advance(bad, now=NOW)
        assert str(refused.value) == f"action must be one of plan, observe, judge, not {bad.get('action')!r}"


def test_a_later_step_needs_the_state_a_previous_call_returned():
    for rotation, message in [
        (None, "rotation must be the state a previous call returned"),
        ({"chains": "x"}, "rotation must be the state a previous call returned"),
        ({"chains": [{"from": "192.0.2.1"}]}, "rotation.chains must be the chains a previous call returned"),
    ]:
        with pytest.raises(InvalidRotationInput) as refused:
            advance({"action": "observe", "rotation": rotation}, now=NOW)
        assert str(refused.value) == message


def chain(name: str, status: str = "WAITING", hops: tuple = ()) -> dict:
    return {"from": {"ip": f"192.0.2.{name}", "taskArn": f"arn:task/{name}", "verdict": "FINGERPRINTED"},
            "hops": list(hops), "status": status}  # fmt: skip


def hop(name: str, minutes: float) -> dict:
    return {"ip": f"203.0.113.{name}", "taskArn": f"arn:task/r{name}", "startedAt": at(minutes).isoformat()}


def rotation(*chains: dict, **fields: object) -> dict:
    return SETTINGS | {"chains": list(chains), "roundStartedAt": NOW.isoformat(), "checksLeft": 2} | fields


def test_replacements_go_to_waiting_chains_in_start_order_and_never_a_chains_own_task():
    observed = [
        {"ip": "192.0.2.1", "taskArn": "arn:task/1", "startedAt": at(0.5).isoformat()},  # chain 1's own task
        hop("9", 3),
        hop("8", 0),  # started exactly when the stop was decided: a replacement
    ]
    state = advance({"action": "observe", "rotation": rotation(chain("1"), chain("2")) | {"observed": observed}},
                    now=at(4))  # fmt: skip
    assert [c["hops"] for c in state["chains"]] == [[hop("8", 0)], [hop("9", 3)]]
    assert state["toCheck"] == [hop("8", 0), hop("9", 3)]


def test_a_replacement_already_in_a_chain_is_not_handed_out_again():
    earlier = chain("1", "ROTATED", (hop("8", 1),))
    state = advance({"action": "observe", "rotation": rotation(earlier, chain("2")) | {"observed": [hop("8", 1)]}},
                    now=at(4))  # fmt: skip
    assert state["chains"][1]["hops"] == [] and state["next"] == "wait"


def test_a_state_without_checks_counted_yet_starts_from_the_setting():
    state = rotation(chain("1"))
    del state["checksLeft"]
    assert advance({"action": "observe", "rotation": state}, now=at(1))["checksLeft"] == 1


def test_a_chain_without_hops_is_read_as_none_yet():
    bare = {"from": {"ip": "192.0.2.1", "taskArn": "arn:task/1", "verdict": "FINGERPRINTED"}, "status": "WAITING"}
    state = advance({"action": "observe", "rotation": rotation(bare) | {"observed": [hop("8", 1)]}}, now=at(2))
    assert state["chains"][0]["hops"] == [hop("8", 1)]


def test_a_stop_ecs_refused_without_saying_why():
    state = rotation(chain("1")) | {"stopResults": [{"taskArn": "arn:task/1", "stopped": False}]}
    state = advance({"action": "observe", "rotation": state}, now=at(1))
    assert state["chains"][0]["reason"] == "ECS did not stop task arn:task/1: unknown error"


def test_the_judge_goes_through_every_chain():
    chains = (
        chain("1", "FAILED") | {"reason": "earlier"},
        chain("2", "CHECKING", (hop("2", 1),)),  # Shodan could not answer
        chain("3", "CHECKING", (hop("3", 1),)),  # clean
        chain("4", "CHECKING", (hop("4", 1),)),  # dirty
    )
    lookups = [{"ip": "203.0.113.3", "verdict": "NOT_INDEXED", "priorOwner": None},
               {"ip": "203.0.113.4", "verdict": "FINGERPRINTED", "priorOwner": None}]  # fmt: skip
    state = advance({"action": "judge", "rotation": rotation(*chains) | {"lookups": lookups}}, now=at(2))
    assert [(c["status"], c.get("reason")) for c in state["chains"]] == [
        ("FAILED", "earlier"),
        ("ROTATED", "replacement IP 203.0.113.2 not verified: no Shodan answer for the replacement IP"),
        ("ROTATED", None),
        ("WAITING", None),
    ]


def test_a_chain_not_ended_reports_no_attempt_yet_and_a_stop_reason_fits_ecs():
    state = advance({"action": "plan", "results": [A], "rotateOn": "fingerprinted", "execution": "e" * 300}, now=NOW)
    assert outcome(state) == [reported(A, attempts=0, status="WAITING", reason=None)]
    [order] = state["toStop"]
    assert order["reason"] == f"ics-honeynet sweep {'e' * 300}"[:255] and len(order["reason"]) == 255
