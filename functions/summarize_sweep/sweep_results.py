"""Every target of a sweep, matched with its result (pure: the reading is passed in).

The lookups write one results object per batch to S3 and the state machine hands over only the
batch summaries. A batch that failed (its summary says so) or whose results cannot be read
still accounts for each of its IPs: an ERROR result with the reason. Nothing is lost.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

ERROR = "ERROR"
MAX_CAUSE_CHARS = 300


class InvalidSweepResults(ValueError):
    """The targets document or the batch summaries are not what the sweep writes."""


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


def _error(target: Mapping[str, Any], error: str, cause: str) -> dict[str, Any]:
    return {
        "ip": target.get("ip"),
        "taskArn": target.get("taskArn"),
        "startedAt": target.get("startedAt"),
        "verdict": ERROR,
        "error": error,
        "cause": failure_message(cause)[:MAX_CAUSE_CHARS],  # parsed first: never a cut JSON document
    }


def gather_results(
    targets: list[Mapping[str, Any]],
    batches: list[Mapping[str, Any]],
    read_results: Callable[[str], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """One result per target, in target order. Each batch summary names its slice of the
    targets (``first``, ``size``) and either its ``resultsKey`` or its ``error``/``cause``."""
    by_ip: dict[str, dict[str, Any]] = {}
    reasons: dict[int, tuple[str, str]] = {}  # target index -> why it has no result
    for summary in batches:
        if not isinstance(summary, Mapping) or not {"first", "size"} <= set(summary):
            raise InvalidSweepResults(f"a batch summary has no 'first'/'size': {summary!r:.200}")
        reason = (str(summary.get("error") or "BatchFailed"), str(summary.get("cause") or "the batch failed"))
        if summary.get("resultsKey"):
            try:
                for result in read_results(str(summary["resultsKey"])):
                    by_ip[str(result.get("ip"))] = dict(result)
                continue
            except Exception as error:  # recorded for each IP of the batch, below
                reason = ("ResultsNotReadable", f"{summary['resultsKey']}: {type(error).__name__}: {error}")
        first = int(summary["first"])
        reasons.update(dict.fromkeys(range(first, first + int(summary["size"])), reason))
    results = []
    for index, target in enumerate(targets):
        found = by_ip.get(str(target.get("ip")))
        if found is not None:
            results.append(found)
        else:
            error, cause = reasons.get(index, ("NoResult", "no lookup result for this IP"))
            results.append(_error(target, error, cause))
    return results
