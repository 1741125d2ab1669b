"""What Shodan knows about one honeypot IP, and what that means (pure, no network).

Verdicts:
- ``NOT_INDEXED``: Shodan answers 404 "No information available for that IP."
- ``INDEXED``: Shodan holds banners for the IP.
- ``FINGERPRINTED``: Shodan tags the host ``honeypot``, or its honeyscore is at or above the
  threshold: scanners and their users now know it is a honeypot.

Only our banners count: AWS recycles public IPs, and Shodan may still hold banners (even a
``honeypot`` tag) from the IP's previous owner. Banners whose ``timestamp`` predates the task's
``startedAt`` are reported as ``priorOwner`` and never make a verdict. Shodan's ``tags`` and
honeyscore are host-level: when every banner predates the task they are attributed to the
prior owner; once Shodan holds any banner of ours they are attributed to us (Shodan cannot
tell us which banner earned the tag, and the cautious reading is that ours did).

Every other Shodan answer is a typed error whose class name the state machine Retries or
Catches on. No message ever carries the API key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

NOT_INDEXED = "NOT_INDEXED"
INDEXED = "INDEXED"
FINGERPRINTED = "FINGERPRINTED"

NOT_FOUND_MESSAGE = "No information available for that IP."
HONEYPOT_TAG = "honeypot"
# Evidence stays well under Step Functions' 256 KB state payload.
MAX_BANNER_CHARS = 2048
MAX_BANNERS = 50
BULKY_BANNER_FIELDS = ("screenshot", "favicon", "html")


class ShodanLookupError(Exception):
    """Base of the errors the state machine tells apart by class name."""


class ShodanRateLimitError(ShodanLookupError):
    """Over Shodan's 1 request/s per key: retry later."""


class ShodanAuthError(ShodanLookupError):
    """The key is wrong, revoked, or not allowed this call: no retry helps."""


class ShodanUnavailableError(ShodanLookupError):
    """Shodan did not answer, timed out, or answered 5xx: retry later."""


class ShodanResponseError(ShodanLookupError):
    """Shodan answered something that is not a host document."""


class InvalidInputError(ValueError):
    """The event does not name a valid IP (or a valid startedAt)."""


@dataclass(frozen=True)
class Target:
    ip: str
    task_arn: str | None = None
    started_at: datetime | None = None
    evidence_key: str | None = None


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; Shodan's naive timestamps are UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_target(event: Mapping[str, Any]) -> Target:
    if not isinstance(event, Mapping):
        raise InvalidInputError("the event must be a JSON object with an 'ip'")
    raw_ip = event.get("ip")
    if not isinstance(raw_ip, str):
        raise InvalidInputError(f"the event's 'ip' must be a string, not {type(raw_ip).__name__}")
    try:
        ip = ipaddress.ip_address(raw_ip.strip())
    except ValueError:
        raise InvalidInputError(f"not an IP address: {raw_ip[:64]!r}") from None
    started_at = None
    if event.get("startedAt"):
        try:
            started_at = parse_timestamp(str(event["startedAt"]))
        except ValueError:
            raise InvalidInputError(f"startedAt is not an ISO 8601 timestamp: {event['startedAt']!r:.64}") from None
    return Target(
        ip=str(ip), task_arn=event.get("taskArn"), started_at=started_at, evidence_key=event.get("evidenceKey")
    )


def classify_api_error(message: str, status: int | None = None, transport_error: str | None = None) -> Exception | None:
    """Map the shodan client's APIError (message text, plus what the HTTP layer saw) to a typed
    error; ``None`` means "not indexed", Shodan's normal answer for an unknown IP."""
    text = message or ""
    lowered = text.lower()
    if text == NOT_FOUND_MESSAGE or (status == 404 and "no information available" in lowered):
        return None
    if status == 429 or "rate limit" in lowered:
        return ShodanRateLimitError(text)
    if status in (401, 403) or "invalid api key" in lowered or "access denied" in lowered:
        return ShodanAuthError(f"Shodan rejected the API key: {text}")
    if transport_error or lowered == "unable to connect to shodan":
        return ShodanUnavailableError(transport_error or text)
    if (status is not None and status >= 500) or "bad gateway" in lowered:
        return ShodanUnavailableError(f"Shodan answered HTTP {status}: {text}" if status else text)
    if "unable to parse json" in lowered:
        return ShodanResponseError(f"Shodan's answer was not JSON (HTTP {status})")
    return ShodanResponseError(f"Shodan answered an error: {text}")


def validate_host(host: Any, ip: str) -> Mapping[str, Any]:
    """A host document must at least name its IP, ports and banners."""
    if not isinstance(host, Mapping):
        raise ShodanResponseError(f"Shodan's host answer for {ip} is a {type(host).__name__}, not an object")
    missing = [name for name in ("ip_str", "ports", "data") if name not in host]
    if missing:
        raise ShodanResponseError(f"Shodan's host answer for {ip} lacks {', '.join(missing)}")
    if not isinstance(host["ports"], list) or not isinstance(host["data"], list):
        raise ShodanResponseError(f"Shodan's host answer for {ip} has malformed ports or data")
    return host


def parse_honeyscore(value: Any) -> float | None:
    """The honeyscore endpoint answers a bare float 0.0-1.0; anything else is 'unknown'."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    score = float(value)
    return score if 0.0 <= score <= 1.0 else None


def trim_evidence(host: Mapping[str, Any]) -> dict[str, Any]:
    """The host document, kept faithful but bounded in size for the state payload and S3."""
    evidence = {k: v for k, v in host.items() if k != "data"}
    banners = []
    for banner in list(host.get("data") or [])[:MAX_BANNERS]:
        if not isinstance(banner, Mapping):
            continue
        kept = {k: v for k, v in banner.items() if k not in BULKY_BANNER_FIELDS}
        if isinstance(kept.get("data"), str) and len(kept["data"]) > MAX_BANNER_CHARS:
            kept["data"] = kept["data"][:MAX_BANNER_CHARS] + f"... [{len(banner['data'])} chars, truncated]"
        banners.append(kept)
    evidence["data"] = banners
    if len(host.get("data") or []) > MAX_BANNERS:
        evidence["_truncated"] = f"{len(host['data'])} banners, first {MAX_BANNERS} kept"
    return evidence


def split_banners(
    host: Mapping[str, Any], started_at: datetime | None
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(ours, prior owner's): banners seen at or after the task started, and those before."""
    banners = [b for b in host.get("data") or [] if isinstance(b, Mapping)]
    if started_at is None:
        return banners, []
    ours, prior = [], []
    for banner in banners:
        try:
            seen = parse_timestamp(str(banner.get("timestamp")))
        except ValueError:
            ours.append(banner)  # undated: cannot prove it is someone else's
            continue
        (ours if seen >= started_at else prior).append(banner)
    return ours, prior


def prior_owner_summary(prior: list[Mapping[str, Any]], host_tags: list[str]) -> dict[str, Any]:
    stamps = sorted(str(b.get("timestamp")) for b in prior)
    return {
        "banners": len(prior),
        "ports": sorted({int(b["port"]) for b in prior if "port" in b}),
        "tags": host_tags,
        "lastSeen": stamps[-1] if stamps else None,
    }


def assess(
    target: Target,
    host: Mapping[str, Any] | None,
    honeyscore: float | None,
    *,
    threshold: float,
    checked_at: datetime,
) -> dict[str, Any]:
    """The lookup's result for the state machine (JSON-ready)."""
    base = {
        "ip": target.ip,
        "taskArn": target.task_arn,
        "startedAt": target.started_at.isoformat() if target.started_at else None,
        "evidenceKey": target.evidence_key,
        "checkedAt": checked_at.astimezone(UTC).isoformat(),
    }
    not_indexed = {
        "found": False,
        "verdict": NOT_INDEXED,
        "ports": [],
        "tags": [],
        "honeyscore": None,
        "lastUpdate": None,
        "org": None,
        "evidence": None,
    }
    if host is None:
        return {**base, **not_indexed, "priorOwner": None}
    tags = sorted({str(t) for t in host.get("tags") or []})
    ours, prior = split_banners(host, target.started_at)
    prior_owner = prior_owner_summary(prior, [] if ours else tags) if prior else None
    if not ours:
        # Everything Shodan holds predates our task: the IP's previous owner, not us.
        return {**base, **not_indexed, "priorOwner": prior_owner}
    fingerprinted = HONEYPOT_TAG in tags or (honeyscore is not None and honeyscore >= threshold)
    ours_stamps = sorted(str(b.get("timestamp")) for b in ours)
    result = {
        **base,
        "found": True,
        "verdict": FINGERPRINTED if fingerprinted else INDEXED,
        "ports": _ports(host, ours if target.started_at else None),
        "tags": tags,
        "honeyscore": honeyscore,
        "lastUpdate": ours_stamps[-1] if ours_stamps else host.get("last_update"),
        "org": host.get("org"),
        "evidence": trim_evidence(host),
    }
    result["priorOwner"] = prior_owner
    return result


def _ports(host: Mapping[str, Any], ours: list[Mapping[str, Any]] | None) -> list[int]:
    """The host's ports, or only those our banners were seen on."""
    if ours is None:
        return sorted({int(p) for p in host.get("ports") or []})
    return sorted({int(b["port"]) for b in ours if "port" in b})


def has_our_banners(host: Mapping[str, Any], started_at: datetime | None) -> bool:
    """Whether a honeyscore is worth a request: only when Shodan has seen our task."""
    return bool(split_banners(host, started_at)[0])
