"""Every target of a sweep, matched with its check (pure: the reading is passed in).

The sweep's Map keeps one small entry per IP (``MapEntry``): the verdict, and where the rest is.
An exposed IP's (or a recycled IP's) full check is its evidence object in S3; an error's cause
is its errors object. Here each target (from the targets document) gets its full result back;
a target without an entry, or whose object cannot be read, still gets a result saying why.
Nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ics_honeynet.contracts import Verdict
from ics_honeynet.exposure_history import OTHER_ENGINES

MAX_CAUSE_CHARS = 300


class InvalidSweepResults(ValueError):
    """The targets document or the Map's entries are not what the sweep writes."""


def failure_message(cause: Any) -> str:
    """A Step Functions Catch's Cause as text: a Lambda's Cause is JSON (message, type, stack
    trace); its ``errorMessage`` is what a reader needs. Anything else is kept as it is."""
    text = "" if cause is None else str(cause)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if isinstance(parsed, Mapping) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"])
    return text


def _target(target: Mapping[str, Any]) -> dict[str, Any]:
    """What a result keeps of its target: the IP, its task, and the template the task serves."""
    base = {"ip": target.get("ip"), "taskArn": target.get("taskArn"), "startedAt": target.get("startedAt")}
    if target.get("template"):
        base["template"] = target["template"]
    return base


def _error(target: Mapping[str, Any], error: str, cause: str) -> dict[str, Any]:
    return {
        **_target(target),
        "verdict": Verdict.ERROR,
        "error": error,
        "cause": failure_message(cause)[:MAX_CAUSE_CHARS],  # parsed first: never a cut JSON document
    }


def _result(target: Mapping[str, Any], entry: Mapping[str, Any], read: Callable[[str], Any]) -> dict[str, Any]:
    base = _target(target)
    verdict = str(entry.get("verdict") or Verdict.ERROR)
    if verdict == Verdict.ERROR:
        result = {**base, "verdict": Verdict.ERROR, "error": str(entry.get("error") or "error"), "cause": None}
        if entry.get("errorKey"):
            result["errorKey"] = entry["errorKey"]
        result["failure"] = {"stored": entry.get("errorStored") is True}
        if entry.get("errorStored") and entry.get("errorKey"):
            try:
                result["cause"] = failure_message(read(str(entry["errorKey"])).get("Cause"))[:MAX_CAUSE_CHARS]
            except Exception as error:  # the verdict stands; only the detail is missing
                result["cause"] = f"(cause not readable: {type(error).__name__})"
        return result
    if entry.get("evidenceStored") is True and entry.get("evidenceKey"):
        try:
            check = dict(read(str(entry["evidenceKey"])))
        except Exception as error:  # the verdict stands; the record says why the details are missing
            unread = {**base, **entry, **_entry_opinion(entry)}
            return {**unread, "evidence": {"stored": True, "readError": type(error).__name__}}
        # Filed where the Map's entry says it is, whatever the object says.
        return {**base, **check, "evidenceKey": entry["evidenceKey"], "evidence": {"stored": True}}
    if entry.get("evidenceStored") is False:
        check = {k: v for k, v in entry.items() if k not in ("evidenceStored", "evidenceError")}
        failure = entry.get("evidenceError") or {}
        return {
            **base,
            **check,
            "evidence": {"stored": False, "Error": failure.get("Error"), "Cause": failure.get("Cause")},
        }
    return {**base, "verdict": verdict, "priorOwner": None, **_entry_opinion(entry)}


def _entry_opinion(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry keeps the other engines' verdicts only (the evidence their whole opinions): as
    opinions."""
    said = {engine.key: entry.get(engine.key) for engine in OTHER_ENGINES}
    return {key: {"verdict": verdict} for key, verdict in said.items() if isinstance(verdict, str) and verdict}


def gather_results(
    targets: Sequence[Mapping[str, Any]], entries: Sequence[Mapping[str, Any]], read: Callable[[str], Any]
) -> list[dict[str, Any]]:
    """One result per target, in target order: its Map entry, completed from S3."""
    by_ip: dict[str, Mapping[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or not entry.get("ip"):
            raise InvalidSweepResults(f"a Map entry has no 'ip': {entry!r:.200}")
        by_ip[str(entry["ip"])] = entry
    results = []
    for target in targets:
        found = by_ip.get(str(target.get("ip")))
        if found is None:
            results.append(_error(target, "NoResult", "no check result for this IP"))
        else:
            results.append(_result(target, found, read))
    return results
