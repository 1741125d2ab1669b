"""Checking a batch of honeypot IPs in one invocation (pure: no AWS, no network, no clock).

A sweep of thousands of IPs cannot carry every target and result through the state machine
(256 KB per state, 25,000 history events), and one invocation and ~3 transitions per IP cost
more than the lookups themselves. So the sweep's Map hands the lookup function *batches*: the
targets live in S3, each result is written to S3, and the state machine sees only a summary
per batch. Retries that the ASL did per IP happen here, per IP, with the same policy:

- Shodan's rate limit: back off and try again (up to ``rate_limit_tries``);
- Shodan down, slow or 5xx: up to ``unavailable_retries`` more tries, then an error for that IP;
- a rejected key: stop the whole sweep (every other lookup would fail the same way);
- anything else (a garbage answer, an invalid IP): an error for that IP, no retry.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from exposure import (
    FINGERPRINTED,
    INDEXED,
    InvalidInputError,
    ShodanAuthError,
    ShodanRateLimitError,
    ShodanUnavailableError,
    normalise_ip,
)

ERROR = "ERROR"
MAX_CAUSE_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    rate_limit_tries: int = 8
    unavailable_retries: int = 3
    base_delay_s: float = 2.0
    # A 429 despite our own pacing is jitter, or another worker on the same key: one Shodan
    # window (1 s) is enough at first; repeated ones back off exponentially from there.
    rate_limit_base_s: float = 1.0
    max_delay_s: float = 30.0
    time_scale: float = 1.0  # the local cloud shortens every wait, as it does the ASL's

    def delay(self, attempt: int, rng: Callable[[], float] = random.random, base: float | None = None) -> float:
        """Exponential backoff with full jitter (as the ASL's Retry with JitterStrategy FULL)."""
        ceiling = min(self.max_delay_s, (self.base_delay_s if base is None else base) * 2 ** (attempt - 1))
        return rng() * ceiling * self.time_scale


class BatchInputError(ValueError):
    """The state machine passed a batch this function cannot read."""


def lookup_with_retries[T](
    lookup: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    on_rate_limited: Callable[[], None] = lambda: None,
) -> T:
    """One Shodan request (an IP's lookup, or its honeyscore) under the retry policy; raises the
    last error when retries run out. ``on_rate_limited`` lets the request pacer slow down after
    a 429."""
    rate_limited = unavailable = 0
    while True:
        try:
            return lookup()
        except ShodanAuthError:
            raise
        except ShodanRateLimitError:
            rate_limited += 1
            on_rate_limited()
            if rate_limited >= policy.rate_limit_tries:
                raise
            sleep(policy.delay(rate_limited, base=policy.rate_limit_base_s))
        except ShodanUnavailableError:
            unavailable += 1
            if unavailable > policy.unavailable_retries:
                raise
            sleep(policy.delay(unavailable))


def targets_of(document: Any, first: Any, size: Any) -> list[dict[str, Any]]:
    """This batch's slice of the sweep's targets document (written by list_honeypot_ips)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("targets"), list):
        raise BatchInputError("the targets document has no 'targets' list")
    try:
        start, count = int(first), int(size)
    except (TypeError, ValueError):
        raise BatchInputError(f"first and size must be whole numbers, not {first!r} and {size!r}") from None
    if start < 0 or count < 1 or start + count > len(document["targets"]):
        raise BatchInputError(f"batch [{start}, {start + count}) is outside the {len(document['targets'])} targets")
    return [dict(t) for t in document["targets"][start : start + count]]


@dataclass(frozen=True)
class ObjectKeys:
    evidence: str
    error: str


def object_keys(raw_ip: Any, execution: str) -> ObjectKeys:
    """Where an IP's evidence and error go: named by the normalised IP (stripped, IPv6
    compressed), so every sweep files one IP under one name; a target that is not an IP by a
    digest of what it was (its text is not fit for a key)."""
    try:
        name = normalise_ip(raw_ip)
    except InvalidInputError:
        name = "not-an-ip-" + hashlib.sha256(repr(raw_ip).encode()).hexdigest()[:16]
    return ObjectKeys(f"evidence/{name}/{execution}.json", f"errors/{name}/{execution}.json")


def error_document(error: BaseException) -> dict[str, str]:
    """The full error, as Step Functions' Catch would have stored it."""
    name = type(error).__name__
    return {"Error": name, "Cause": json.dumps({"errorMessage": str(error), "errorType": name})}


def error_result(target: Mapping[str, Any], error: BaseException, error_key: str, stored: bool) -> dict[str, Any]:
    """What the sweep record keeps for an IP that could not be checked (the reason, in short)."""
    return {
        "ip": target.get("ip"),
        "taskArn": target.get("taskArn"),
        "startedAt": target.get("startedAt"),
        "verdict": ERROR,
        "error": type(error).__name__,
        "cause": str(error)[:MAX_CAUSE_CHARS],
        "errorKey": error_key,
        "failure": {"stored": stored},
    }


def compact_result(result: Mapping[str, Any], evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the sweep record keeps per IP: all of it for an exposed IP (the Shodan document
    itself is in S3, ``evidence`` says whether it got there); the essentials otherwise."""
    if result.get("found"):
        return {**result, "evidence": dict(evidence or {})}
    keep = ("ip", "taskArn", "startedAt", "verdict", "priorOwner")
    return {key: result.get(key) for key in keep}


def batch_summary(batch: int, first: int, results: list[Mapping[str, Any]], results_key: str) -> dict[str, Any]:
    """The state machine's view of a batch: counts, and only the exposed IPs (for rotation)."""
    return {
        "batch": batch,
        "first": first,
        "size": len(results),
        "checked": len(results),
        "resultsKey": results_key,
        "errors": sum(r.get("verdict") == ERROR for r in results),
        "exposed": [
            {"ip": r["ip"], "taskArn": r.get("taskArn"), "verdict": r["verdict"]}
            for r in results
            if r.get("verdict") in (INDEXED, FINGERPRINTED)
        ],
    }
