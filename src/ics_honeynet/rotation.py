"""Verified rotation, as a small state machine the sweep's ASL loops over (pure, no AWS).

A rotation moves an exposed honeypot to a fresh public IP: stop its task, wait until the ECS
service has a replacement RUNNING with a public IP, ask Shodan about the new IP at once, and if
the new IP is already dirty (AWS recycles IPs, and a prior owner's banners - even a ``honeypot``
tag - may be on Shodan), rotate again, up to ``maxAttempts`` stops per exposed honeypot.

Each exposed honeypot is a *chain*: where it started (``from``) and the replacements it went
through (``hops``). The whole state is JSON and lives in the execution (``$.rotation``); every
call returns it with ``next`` telling the ASL what to do:

- ``stop``  - stop the tasks in ``toStop`` (the ASL calls ECS directly), then wait;
- ``wait``  - wait ``replacementWaitSeconds``, list the service's tasks, then ``observe``;
- ``check`` - look up the IPs in ``toCheck`` on Shodan, then ``judge``;
- ``done``  - every chain is ``ROTATED`` or ``FAILED`` (with a reason).

Which replacement belongs to which stopped task: ECS does not say (the service just starts
tasks), so new tasks are handed to waiting chains in order. A replacement is a task that started
after the round's stop was decided (``roundStartedAt``) and is not already in a chain, nor one the
sweep saw still starting (``skipped``: it may reach RUNNING during the rotation).

Dirty: under ``RotateOn=indexed`` a replacement IP is dirty when Shodan has anything on it; under
``fingerprinted`` when the IP is tagged ``honeypot`` (or our verdict is FINGERPRINTED). Unlike a
routine sweep, a prior owner's banners count here: we are choosing an IP, and scanners that
filter on Shodan's tags would skip a tagged IP whoever earned the tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from ics_honeynet.contracts import (
    EXPOSED_VERDICTS,
    HONEYPOT_TAG,
    ChainOrigin,
    ChainStatus,
    ReplacementLookup,
    RotateOn,
    RotationAction,
    RotationChain,
    RotationHop,
    RotationOutcome,
    RotationState,
    RotationStep,
    StopOrder,
    StopResult,
    SweepTarget,
    Verdict,
    format_utc,
    parse_utc,
    utc_now,
)

# Chain statuses, and what the ASL does next (contracts.ChainStatus, contracts.RotationStep).
STOPPING, WAITING, CHECKING = ChainStatus.STOPPING, ChainStatus.WAITING, ChainStatus.CHECKING
ROTATED, FAILED = ChainStatus.ROTATED, ChainStatus.FAILED
STOP, WAIT, CHECK, DONE = RotationStep.STOP, RotationStep.WAIT, RotationStep.CHECK, RotationStep.DONE
ABORTED = "the rotation was aborted before this honeypot had a verified new IP (see the sweep's error)"


class InvalidRotationInput(ValueError):
    """The state machine passed something the rotation cannot work with."""


def should_rotate(verdict: str | None, rotate_on: str) -> bool:
    """Whether a verdict calls for a new IP under the stack's RotateOn setting."""
    if rotate_on == RotateOn.INDEXED:
        return verdict in EXPOSED_VERDICTS
    if rotate_on == RotateOn.FINGERPRINTED:
        return verdict == Verdict.FINGERPRINTED
    return False


def prior_owner_verdict(prior_owner: Mapping[str, Any] | None) -> Verdict:
    """What Shodan shows for an IP's previous owner: their banners, maybe a honeypot tag."""
    if not prior_owner or not prior_owner.get("banners"):
        return Verdict.NOT_INDEXED
    return Verdict.FINGERPRINTED if HONEYPOT_TAG in (prior_owner.get("tags") or []) else Verdict.INDEXED


def _now(now: datetime | None) -> str:
    return format_utc(now) if now is not None else utc_now()


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_utc(str(value))
    except ValueError:
        return None


def _int(event: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    try:
        value = int(event.get(key, default))
    except (TypeError, ValueError):
        raise InvalidRotationInput(f"{key} must be a whole number, not {event.get(key)!r}") from None
    if value < minimum:
        raise InvalidRotationInput(f"{key} must be at least {minimum}, not {value}")
    return value


def _current(chain: RotationChain) -> RotationHop | ChainOrigin:
    """The task the chain is on now: its last replacement, or where it started."""
    return chain["hops"][-1] if chain["hops"] else chain["from"]


def _stop_order(chain: RotationChain, execution: str) -> StopOrder:
    current = _current(chain)
    attempt = len(chain["hops"]) + 1
    why = chain["from"]["verdict"] if not chain["hops"] else f"replacement IP {current['ip']} is {_dirty(chain)}"
    return {
        "taskArn": current["taskArn"],
        "ip": current["ip"],
        "reason": f"ics-honeynet sweep {execution}: rotation {attempt} of {chain['from']['ip']} ({why})"[:255],
    }


def _dirty(chain: RotationChain) -> str | None:
    return chain["hops"][-1].get("dirty") if chain["hops"] else None


def _to_check(hop: RotationHop) -> SweepTarget:
    return {"ip": hop["ip"], "taskArn": hop["taskArn"], "startedAt": hop["startedAt"]}


def _plan_next(state: RotationState, execution: str, now: datetime | None) -> RotationState:
    """What the state machine does next; the state, complete, as it crosses back."""
    chains = state["chains"]
    state["toStop"] = [_stop_order(c, execution) for c in chains if c["status"] == STOPPING]
    state["toCheck"] = [_to_check(c["hops"][-1]) for c in chains if c["status"] == CHECKING]
    if state["toStop"]:
        state["next"] = STOP
        state["roundStartedAt"] = _now(now)
        state["checksLeft"] = state["replacementChecks"]
        for chain in chains:
            if chain["status"] == STOPPING:
                chain["status"] = WAITING
    elif any(c["status"] == WAITING for c in chains):
        state["next"] = WAIT
    elif state["toCheck"]:
        state["next"] = CHECK
    else:
        state["next"] = DONE
        state["outcome"] = _outcomes(chains)
    # What to report if a later step fails for good (the ASL's RotationAborted): every chain not
    # yet ended counts as failed.
    state["ifAborted"] = _outcomes(
        [c if c["status"] in (ROTATED, FAILED) else {**c, "status": FAILED, "reason": ABORTED} for c in chains]
    )
    state.pop("stopResults", None)
    state.pop("observed", None)
    state.pop("lookups", None)
    return state


def plan(event: Mapping[str, Any], *, now: datetime | None = None) -> RotationState:
    """Start a rotation from the sweep's results: one chain per exposed honeypot of ours."""
    rotate_on = event.get("rotateOn", RotateOn.NEVER)
    if rotate_on not in tuple(RotateOn):
        raise InvalidRotationInput(f"rotateOn must be one of {', '.join(RotateOn)}, not {rotate_on!r}")
    results = event.get("results") or []
    if not isinstance(results, list):
        raise InvalidRotationInput("results must be the sweep's list of per-IP results")
    execution = str(event.get("execution") or "manual")
    # The sweep's Map entries: an exposed IP's entry names its task.
    chains: list[RotationChain] = [
        {
            "from": {"ip": str(r["ip"]), "taskArn": str(r["taskArn"]), "verdict": r.get("verdict")},
            "hops": [],
            "status": STOPPING,
        }
        for r in results
        if isinstance(r, Mapping) and r.get("ip") and r.get("taskArn") and should_rotate(r.get("verdict"), rotate_on)
    ]
    state: RotationState = {
        "execution": execution,
        "rotateOn": rotate_on,
        "maxAttempts": _int(event, "maxAttempts", 3, 1),
        "replacementChecks": _int(event, "replacementChecks", 10, 1),
        "replacementWaitSeconds": _int(event, "replacementWaitSeconds", 30, 0),
        "chains": chains,
        "notReplacements": sorted({str(s["taskArn"]) for s in event.get("skipped") or [] if s.get("taskArn")}),
        # Set by _plan_next:
        "toStop": [],
        "toCheck": [],
        "next": DONE,
        "ifAborted": [],
    }
    return _plan_next(state, execution, now)


def _state(event: Mapping[str, Any]) -> RotationState:
    """The state a previous call returned, copied (chains and hops are edited in place)."""
    state = event.get("rotation")
    if not isinstance(state, Mapping) or not isinstance(state.get("chains"), list):
        raise InvalidRotationInput("rotation must be the state a previous call returned")
    chains = [
        cast(RotationChain, {**c, "hops": [dict(h) for h in c.get("hops", [])]})
        for c in state["chains"]
        if isinstance(c, Mapping) and isinstance(c.get("from"), Mapping)
    ]
    if len(chains) != len(state["chains"]):
        raise InvalidRotationInput("rotation.chains must be the chains a previous call returned")
    return cast(RotationState, {**state, "chains": chains})


def _apply_stop_results(state: RotationState, stop_results: Iterable[StopResult]) -> None:
    results = [r for r in stop_results if isinstance(r, Mapping)]
    failed = {r.get("taskArn"): r for r in results if not r.get("stopped")}
    # ECS replaces a service's task within that service: the chain takes that service's tasks only.
    services = {r.get("taskArn"): str(r["group"]).removeprefix("service:") for r in results if r.get("group")}
    uncounted = {r.get("taskArn") for r in results if r.get("stopped") and r.get("countError")}
    for chain in state["chains"]:
        current = _current(chain)
        if current["taskArn"] in services:
            chain["service"] = services[current["taskArn"]]
        if current["taskArn"] in uncounted:
            chain["uncounted"] = chain.get("uncounted", 0) + 1
        if chain["status"] == WAITING and current["taskArn"] in failed:
            error = failed[current["taskArn"]]
            chain["status"] = FAILED
            chain["reason"] = f"ECS did not stop task {current['taskArn']}: {error.get('error') or 'unknown error'}"


def observe(event: Mapping[str, Any], *, now: datetime | None = None) -> RotationState:
    """The service's running tasks after a wait: hand new ones to the chains waiting for one."""
    state = _state(event)
    _apply_stop_results(state, state.get("stopResults") or [])
    observed: Any = state.get("observed") or []
    if isinstance(observed, Mapping):  # list_honeypot_ips' output, as the ASL stores it
        observed = observed.get("ips") or []
    round_started = _parse_time(state.get("roundStartedAt"))
    taken = {c["from"]["taskArn"] for c in state["chains"]} | {h["taskArn"] for c in state["chains"] for h in c["hops"]}
    taken |= set(state.get("notReplacements") or [])
    fresh = [
        t
        for t in observed
        if isinstance(t, Mapping)
        and t.get("ip")
        and t.get("taskArn")
        and t["taskArn"] not in taken
        and (started := _parse_time(t.get("startedAt"))) is not None
        and (round_started is None or started >= round_started)
    ]
    fresh.sort(key=lambda t: str(t.get("startedAt")))
    for chain in state["chains"]:
        if chain["status"] != WAITING:
            continue
        task = next((t for t in fresh if _replaces(chain, t)), None)
        if task is not None:
            fresh.remove(task)
            hop: RotationHop = {"ip": task["ip"], "taskArn": task["taskArn"], "startedAt": task.get("startedAt")}
            if task.get("template"):
                hop["template"] = str(task["template"])
            chain["hops"].append(hop)
            chain["status"] = CHECKING
    state["checksLeft"] = int(state.get("checksLeft", state["replacementChecks"])) - 1
    if state["checksLeft"] <= 0:
        waited = state["replacementChecks"] * state["replacementWaitSeconds"]
        for chain in state["chains"]:
            if chain["status"] == WAITING:
                chain["status"] = FAILED
                chain["reason"] = f"no replacement task with a public IP within {waited} s"
    # While some chains still wait, the ones that got a replacement are checked later, together.
    return _plan_next(state, state["execution"], now)


def _replaces(chain: RotationChain, task: Mapping[str, Any]) -> bool:
    """Whether ``task`` can be ``chain``'s replacement: started by the same ECS service, when both
    say which (ECS does not say which task replaces which, only which service started it)."""
    return not chain.get("service") or not task.get("service") or chain.get("service") == task["service"]


def judge(event: Mapping[str, Any], *, now: datetime | None = None) -> RotationState:
    """Shodan's answers for the replacement IPs: clean ones end the chain, dirty ones rotate again."""
    state = _state(event)
    lookups: dict[str, ReplacementLookup] = {
        r["ip"]: r for r in state.get("lookups") or [] if isinstance(r, Mapping) and r.get("ip")
    }
    for chain in state["chains"]:
        if chain["status"] != CHECKING:
            continue
        hop = chain["hops"][-1]
        lookup = lookups.get(hop["ip"])
        if lookup is None or lookup.get("verdict") in (None, Verdict.ERROR):
            # Shodan could not tell: keep the new IP (the next sweep checks it again) and say so.
            hop["verdict"] = Verdict.ERROR
            hop["error"] = (lookup.get("error") if lookup else None) or "no Shodan answer for the replacement IP"
            chain["status"] = ROTATED
            chain["reason"] = f"replacement IP {hop['ip']} not verified: {hop['error']}"
            continue
        hop["verdict"] = lookup["verdict"]
        prior = prior_owner_verdict(cast(Mapping[str, Any] | None, lookup.get("priorOwner")))
        hop["priorOwner"] = prior
        dirty = next((v for v in (lookup["verdict"], prior) if should_rotate(v, state["rotateOn"])), None)
        if dirty is None:
            chain["status"] = ROTATED  # a chain being checked has no reason yet: only an end gives one
            continue
        hop["dirty"] = why = dirty if dirty == lookup["verdict"] else f"{dirty} by a prior owner"
        if len(chain["hops"]) < state["maxAttempts"]:
            chain["status"] = STOPPING
        else:
            chain["status"] = FAILED
            chain["reason"] = f"still on a dirty IP after {state['maxAttempts']} rotation(s): {hop['ip']} is {why}"
    return _plan_next(state, state["execution"], now)


ACTIONS = {RotationAction.PLAN: plan, RotationAction.OBSERVE: observe, RotationAction.JUDGE: judge}


def advance(event: Mapping[str, Any], *, now: datetime | None = None) -> RotationState:
    action = event.get("action")
    if action not in ACTIONS:
        raise InvalidRotationInput(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    return ACTIONS[action](event, now=now)


def outcome(state: RotationState) -> list[RotationOutcome]:
    """Each chain as the report shows it: old IP -> final IP, attempts, status, reason."""
    return _outcomes(state["chains"])


def _outcomes(chains: Iterable[RotationChain]) -> list[RotationOutcome]:
    return [_outcome(c) for c in chains]


def _outcome(c: RotationChain) -> RotationOutcome:
    last = c["hops"][-1] if c["status"] == ROTATED and c["hops"] else None
    found: RotationOutcome = {
        "from": c["from"]["ip"],
        "fromTask": c["from"]["taskArn"],
        "verdict": c["from"].get("verdict"),
        "to": last["ip"] if last else None,
        "toTask": last["taskArn"] if last else None,
        "toStartedAt": last.get("startedAt") if last else None,
        "toVerdict": last.get("verdict") if last else None,
        "via": [h["ip"] for h in c["hops"][:-1]] if c["status"] == ROTATED else [h["ip"] for h in c["hops"]],
        "attempts": len(c["hops"]) or (1 if c["status"] == FAILED else 0),
        "status": c["status"],
        "reason": c.get("reason"),
    }
    if last is not None and last.get("template"):
        found["toTemplate"] = last["template"]
    if c.get("service"):
        found["service"] = c["service"]
    if c.get("uncounted"):
        found["uncounted"] = c["uncounted"]
    return found
