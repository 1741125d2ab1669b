"""What Shodan knows about one honeypot IP, and what that means (pure, no network).

Verdicts:
- ``NOT_INDEXED``: Shodan answers 404 "No information available for that IP." (only that
  answer: any other unexpected answer is an error for the IP), or every banner it holds predates
  our task.
- ``INDEXED``: Shodan holds banners of ours.
- ``FINGERPRINTED``: the tags attributed to our banners include ``honeypot`` (compared
  case-insensitively), or the honeyscore is at or above the threshold: scanners and their users
  now know it is a honeypot.

Only our banners count: AWS recycles public IPs, and Shodan may still hold banners (even a
``honeypot`` tag) from the IP's previous owner. Banners whose ``timestamp`` predates the task's
``startedAt`` are reported as ``priorOwner`` and never make a verdict.

Tags are attributed per banner: Shodan puts ``tags`` on each banner, and a banner's tags belong
to whoever the banner belongs to. Only when no banner carries tags do we fall back to the
host-level ``tags``: attributed to the prior owner while every banner predates the task, to us
once Shodan holds any banner of ours (the cautious reading). The honeyscore is host-level and is
asked only once Shodan holds a banner of ours. A honeyscore Shodan could not give (rate limit,
5xx, timeout, after retries) is ``UNAVAILABLE``: reported as unknown, never read as a low score.

A host document is read defensively: a malformed banner part (a ``port`` that is not a port, a
``timestamp`` that is not one, ``tags`` that are not a list of strings) is ignored, never raised.
Everything this module returns is bounded by construction (see ``MAX_RESULT_BYTES``): strings
are clipped by their JSON size, lists are capped; the full document belongs in S3.

Every other Shodan answer is a typed error whose class name the state machine Retries or
Catches on. No message ever carries the API key.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ics_honeynet.contracts import (
    HONEYPOT_TAG,
    CheckResult,
    HoneyscoreStatus,
    PriorOwner,
    ShodanEngine,
    TagSource,
    Verdict,
    format_utc,
    parse_utc,
)

NOT_FOUND_MESSAGE = "No information available for that IP."

# Bounds. A string's limit is the size of its JSON encoding (non-ASCII text is escaped, up to 12
# bytes per character), so the bound holds whatever Shodan sends.
MAX_TEXT_BYTES = 128
MAX_TIMESTAMP_BYTES = 40
MAX_TAG_BYTES = 32
MAX_TAGS = 16
MAX_PORTS = 100
MAX_HOSTNAMES = 8
MAX_EXCERPT_BANNERS = 10
MAX_EXCERPT_DATA_BYTES = 1024
MAX_EXCERPT_BANNER_TAGS = 8
MAX_MESSAGE_CHARS = 300
MAX_EVENT_TEXT = 1024  # taskArn: ours, echoed back
# What one lookup's result may weigh, JSON-encoded (Step Functions allows 256 KB per state);
# tests/unit/test_lookup_properties.py measures the worst case against it.
MAX_RESULT_BYTES = 32 * 1024
CLIPPED = "\u2026"

EXCERPT_HOST_FIELDS = ("ip_str", "org", "isp", "asn", "os", "last_update", "country_code", "city")
EXCERPT_BANNER_FIELDS = ("transport", "product", "version")


class ShodanLookupError(Exception):
    """Base of the errors the state machine tells apart by class name."""


class ShodanRateLimitError(ShodanLookupError):
    """Over Shodan's 1 request/s per key: retry later."""


class ShodanAuthError(ShodanLookupError):
    """The key is wrong, revoked, or not allowed this call: no retry helps."""


class ShodanUnavailableError(ShodanLookupError):
    """Shodan did not answer, timed out, or answered 5xx: retry later."""


class ShodanResponseError(ShodanLookupError):
    """Shodan answered something that is not a host document (or not a scan's receipt)."""


class ShodanCreditsError(ShodanLookupError):
    """The plan's credits for this call are used up ("Insufficient ... credits"): nothing was done,
    and no retry helps before the monthly reset. Shodan answers it with HTTP 401, so it is told
    apart from a rejected key by its text."""


@dataclass(frozen=True)
class ScanAnswer:
    """Shodan's receipt for an on-demand scan (``POST /shodan/scan``)."""

    scan_id: str
    count: int
    credits_left: int | None


class InvalidInputError(ValueError):
    """The event does not name a valid IP (or a valid startedAt)."""


@dataclass(frozen=True)
class Target:
    ip: str
    task_arn: str | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class Banner:
    """What the verdict needs of one banner; malformed parts read as absent."""

    port: int | None
    seen: datetime | None
    timestamp: str | None  # Shodan's text, clipped
    tags: frozenset[str]
    tagged: bool  # the banner carries a non-empty tags list


@dataclass(frozen=True)
class HostDocument:
    banners: tuple[Banner, ...]
    tags: frozenset[str]  # host-level
    org: str | None
    last_update: str | None
    excerpt: dict[str, Any]  # bounded, for the single-IP reply


@dataclass(frozen=True)
class Honeyscore:
    status: HoneyscoreStatus
    value: float | None = None
    reason: str | None = None


HONEYSCORE_NOT_ASKED = Honeyscore(HoneyscoreStatus.NOT_ASKED)


# -- bounded values ------------------------------------------------------------------------------
def clip(value: Any, limit: int = MAX_TEXT_BYTES) -> str | None:
    """A string whose JSON encoding takes at most ``limit`` bytes (quotes aside); None if not a
    string. Clipped strings end in an ellipsis."""
    if not isinstance(value, str):
        return None
    head = value[: limit + 1]  # every character takes at least one byte
    if len(head) <= limit and len(json.dumps(head)) - 2 <= limit:
        return value  # all of it: head is the whole value
    budget, size, kept = limit - 6, 0, []  # 6: the escaped ellipsis
    for char in head:
        size += len(json.dumps(char)) - 2
        if size > budget:
            break
        kept.append(char)
    return "".join(kept) + CLIPPED


def capped_sorted(values: Iterable[Any], count: int) -> list[Any]:
    return sorted(values)[:count]


def tags_out(tags: Iterable[str]) -> list[str]:
    return capped_sorted({clip(t, MAX_TAG_BYTES) or "" for t in tags}, MAX_TAGS)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def read_port(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        return None
    return value


def read_tags(value: Any) -> frozenset[str]:
    """Shodan's tags, normalised for comparison (stripped, lower case); non-strings ignored."""
    if not isinstance(value, list):
        return frozenset()
    return frozenset(t.strip().lower() for t in value if isinstance(t, str) and t.strip())


# -- input ---------------------------------------------------------------------------------------
def normalise_ip(raw: Any) -> str:
    """The canonical text of an IP (stripped; IPv6 compressed, lower case)."""
    if not isinstance(raw, str):
        raise InvalidInputError(f"the event's 'ip' must be a string, not {type(raw).__name__}")
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise InvalidInputError(f"not an IP address: {raw[:64]!r}") from None


def _event_text(event: Mapping[str, Any], name: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_EVENT_TEXT:
        raise InvalidInputError(f"the event's {name!r} must be a string of at most {MAX_EVENT_TEXT} characters")
    return value


def parse_target(event: Mapping[str, Any]) -> Target:
    if not isinstance(event, Mapping):
        raise InvalidInputError("the event must be a JSON object with an 'ip'")
    ip = normalise_ip(event.get("ip"))
    started_at = None
    if event.get("startedAt"):
        try:
            started_at = parse_utc(str(event["startedAt"]))
        except ValueError:
            raise InvalidInputError(f"startedAt is not an ISO 8601 timestamp: {event['startedAt']!r:.64}") from None
    return Target(
        ip=ip,
        task_arn=_event_text(event, "taskArn"),
        started_at=started_at,
    )


# -- Shodan's answers ----------------------------------------------------------------------------
_UNAVAILABLE_TEXT = ("timed out", "timeout", "try again later", "temporarily unavailable", "internal server error")


def classify_api_error(message: str, status: int | None = None, transport_error: str | None = None) -> Exception | None:
    """Map the shodan client's APIError (message text, plus what the HTTP layer saw) to a typed
    error; ``None`` means "not indexed", Shodan's normal answer for an unknown IP."""
    text = (message or "")[:MAX_MESSAGE_CHARS]
    lowered = text.lower()
    if text == NOT_FOUND_MESSAGE or (status == 404 and "no information available" in lowered):
        return None
    if status == 429 or "rate limit" in lowered:
        return ShodanRateLimitError(text)
    if "insufficient" in lowered and "credits" in lowered:
        return ShodanCreditsError(text)
    if status in (401, 403) or "invalid api key" in lowered or "access denied" in lowered:
        return ShodanAuthError(f"Shodan rejected the API key: {text}")
    if transport_error or lowered == "unable to connect to shodan":
        return ShodanUnavailableError(transport_error or text)
    if (status is not None and status >= 500) or "bad gateway" in lowered:
        return ShodanUnavailableError(f"Shodan answered HTTP {status}: {text}" if status else text)
    if "unable to parse json" in lowered:
        return ShodanResponseError(f"Shodan's answer was not JSON (HTTP {status})")
    if any(phrase in lowered for phrase in _UNAVAILABLE_TEXT):
        # Shodan sometimes answers 200 with {"error": "Request timed out..."}: busy, not broken.
        return ShodanUnavailableError(f"Shodan answered HTTP {status}: {text}" if status else text)
    return ShodanResponseError(f"Shodan answered an error: {text}")


def parse_banner(raw: Any) -> Banner | None:
    if not isinstance(raw, Mapping):
        return None
    seen = None
    if isinstance(raw.get("timestamp"), str):
        try:
            seen = parse_utc(raw["timestamp"])
        except ValueError:
            seen = None
    tags = read_tags(raw.get("tags"))
    return Banner(
        port=read_port(raw.get("port")),
        seen=seen,
        timestamp=clip(raw.get("timestamp"), MAX_TIMESTAMP_BYTES),
        tags=tags,
        tagged=bool(tags),
    )


def validate_host(host: Any, ip: str) -> HostDocument:
    """Read a host document: it must be an object with a list of banners (``data``); ``ports`` is
    not needed (the ports are read from the banners). Anything else is a ShodanResponseError."""
    if host is None or host == "" or host == {}:
        raise ShodanResponseError(f"Shodan answered an empty body for {ip} (not its 'no information' answer)")
    if not isinstance(host, Mapping):
        raise ShodanResponseError(f"Shodan's host answer for {ip} is a {type(host).__name__}, not an object")
    if not isinstance(host.get("data"), list):
        what = "lacks" if "data" not in host else "has malformed"
        raise ShodanResponseError(f"Shodan's host answer for {ip} {what} data (its banners)")
    banners = tuple(b for b in (parse_banner(raw) for raw in host["data"]) if b is not None)
    return HostDocument(
        banners=banners,
        tags=read_tags(host.get("tags")),
        org=clip(host.get("org")),
        last_update=clip(host.get("last_update"), MAX_TIMESTAMP_BYTES),
        excerpt=evidence_excerpt(host),
    )


def parse_scan_answer(answer: Any, ip: str) -> ScanAnswer:
    """``{"id": str, "count": int, "credits_left": int}``; anything else is a ShodanResponseError
    (the scan may or may not have been queued: the caller records it, never asks again)."""
    scan_id = answer.get("id") if isinstance(answer, Mapping) else None
    count = answer.get("count") if isinstance(answer, Mapping) else None
    if not isinstance(scan_id, str) or not scan_id or isinstance(count, bool) or not isinstance(count, int):
        raise ShodanResponseError(f"Shodan's answer to the scan of {ip} is not a scan receipt: {clip(repr(answer))}")
    left = answer.get("credits_left")
    credits_left = left if isinstance(left, int) and not isinstance(left, bool) else None
    return ScanAnswer(scan_id=clip(scan_id, MAX_TEXT_BYTES) or "", count=count, credits_left=credits_left)


def parse_honeyscore(value: Any) -> Honeyscore:
    """The honeyscore endpoint answers a bare float 0.0-1.0; anything else: Shodan has no score."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        return Honeyscore(
            HoneyscoreStatus.NO_SCORE, reason=f"Shodan answered {clip(repr(value), 64)} instead of a score"
        )
    return Honeyscore(HoneyscoreStatus.SCORED, float(value))


def honeyscore_failed(error: Exception) -> Honeyscore:
    """A honeyscore request that failed: unknown. Rate limit, 5xx, timeout: UNAVAILABLE (asked
    again next sweep); any other answer (no score for the IP, not in the plan): NO_SCORE."""
    unavailable = isinstance(error, ShodanRateLimitError | ShodanUnavailableError)
    status = HoneyscoreStatus.UNAVAILABLE if unavailable else HoneyscoreStatus.NO_SCORE
    return Honeyscore(status, reason=clip(f"{type(error).__name__}: {error}", 200))


# -- evidence ------------------------------------------------------------------------------------
def _excerpt_banner(raw: Mapping[str, Any]) -> dict[str, Any]:
    shodan_meta = raw.get("_shodan")
    kept: dict[str, Any] = {
        "port": read_port(raw.get("port")),
        "timestamp": clip(raw.get("timestamp"), MAX_TIMESTAMP_BYTES),
        "module": clip(shodan_meta.get("module"), MAX_TAG_BYTES) if isinstance(shodan_meta, Mapping) else None,
        **{name: clip(raw.get(name)) for name in EXCERPT_BANNER_FIELDS},
        "tags": tags_out(read_tags(raw.get("tags")))[:MAX_EXCERPT_BANNER_TAGS],
        "data": clip(raw.get("data"), MAX_EXCERPT_DATA_BYTES),
    }
    return {k: v for k, v in kept.items() if v is not None and v != []}


def evidence_excerpt(host: Mapping[str, Any]) -> dict[str, Any]:
    """A whitelist of the host document, bounded: the newest banners' essentials, never the bulk
    Shodan nests under ``http``, ``ssl``, ``screenshot`` and the like (that is in S3)."""
    raw_banners = [b for b in host.get("data") or [] if isinstance(b, Mapping)]
    newest = sorted(raw_banners, key=lambda b: str(b.get("timestamp")), reverse=True)[:MAX_EXCERPT_BANNERS]
    excerpt: dict[str, Any] = {name: clip(host.get(name)) for name in EXCERPT_HOST_FIELDS}
    hostnames = _list(host.get("hostnames"))
    excerpt["hostnames"] = [clip(h) for h in hostnames if isinstance(h, str)][:MAX_HOSTNAMES]
    host_ports = _list(host.get("ports"))
    excerpt["ports"] = capped_sorted({p for p in map(read_port, host_ports) if p is not None}, MAX_PORTS)
    excerpt["tags"] = tags_out(read_tags(host.get("tags")))
    excerpt["banners"] = len(host.get("data") or [])
    excerpt["data"] = [_excerpt_banner(b) for b in newest]
    if len(raw_banners) > MAX_EXCERPT_BANNERS:
        excerpt["_truncated"] = f"{len(raw_banners)} banners, the newest {MAX_EXCERPT_BANNERS} kept"
    return {k: v for k, v in excerpt.items() if v is not None}


# -- the verdict ---------------------------------------------------------------------------------
def split_banners(host: HostDocument, started_at: datetime | None) -> tuple[list[Banner], list[Banner]]:
    """(ours, prior owner's): banners seen at or after the task started, and those before. An
    undated banner cannot be proved someone else's: it counts as ours."""
    if started_at is None:
        return list(host.banners), []
    ours = [b for b in host.banners if b.seen is None or b.seen >= started_at]
    return ours, [b for b in host.banners if b.seen is not None and b.seen < started_at]


def attribute_tags(
    host: HostDocument, ours: list[Banner], prior: list[Banner]
) -> tuple[frozenset[str], frozenset[str], TagSource]:
    """(our tags, the prior owner's tags, how they were attributed)."""
    if any(b.tagged for b in host.banners):
        return (
            frozenset().union(*(b.tags for b in ours)),
            frozenset().union(*(b.tags for b in prior)),
            TagSource.BANNERS,
        )
    if ours:
        return host.tags, frozenset(), TagSource.HOST
    return frozenset(), host.tags if prior else frozenset(), TagSource.HOST


def _ports(banners: list[Banner]) -> list[int]:
    return capped_sorted({b.port for b in banners if b.port is not None}, MAX_PORTS)


def _last_seen(banners: list[Banner]) -> str | None:
    dated = [b for b in banners if b.seen is not None]
    return max(dated, key=lambda b: b.seen).timestamp if dated else None  # type: ignore[arg-type,return-value]


def prior_owner_summary(prior: list[Banner], tags: frozenset[str]) -> PriorOwner:
    return {"banners": len(prior), "ports": _ports(prior), "tags": tags_out(tags), "lastSeen": _last_seen(prior)}


def has_our_banners(host: HostDocument, started_at: datetime | None) -> bool:
    """Whether a honeyscore is worth a request: only when Shodan has seen our task."""
    return bool(split_banners(host, started_at)[0])


def assess(
    target: Target,
    host: HostDocument | None,
    honeyscore: Honeyscore,
    *,
    threshold: float,
    checked_at: datetime,
) -> CheckResult:
    """The IP's check (JSON-ready, at most MAX_RESULT_BYTES). ``host`` keeps a bounded excerpt of
    whatever Shodan holds, a prior owner's banners included: that is the evidence."""
    ours, prior = split_banners(host, target.started_at) if host is not None else ([], [])
    our_tags, prior_tags, source = (
        attribute_tags(host, ours, prior) if host is not None else (frozenset(), frozenset(), None)
    )
    scored = (
        honeyscore.status == HoneyscoreStatus.SCORED and honeyscore.value is not None and honeyscore.value >= threshold
    )
    verdict = (
        Verdict.NOT_INDEXED
        if not ours
        else Verdict.FINGERPRINTED
        if HONEYPOT_TAG in our_tags or scored
        else Verdict.INDEXED
    )
    # Everything Shodan holds may predate our task: the IP's previous owner, not us (NOT_INDEXED).
    return CheckResult(
        ip=target.ip,
        verdict=verdict,
        found=bool(ours),
        taskArn=target.task_arn,
        startedAt=format_utc(target.started_at) if target.started_at else None,
        checkedAt=format_utc(checked_at),
        ports=_ports(ours),
        tags=tags_out(our_tags),
        tagSource=source if ours else None,
        honeyscore=honeyscore.value if ours else None,
        honeyscoreStatus=honeyscore.status if ours else HoneyscoreStatus.NOT_ASKED,
        honeyscoreError=clip(honeyscore.reason, 200) if ours else None,
        lastUpdate=(_last_seen(ours) or host.last_update) if ours and host is not None else None,
        org=host.org if ours and host is not None else None,
        priorOwner=prior_owner_summary(prior, prior_tags) if prior else None,
        host=host.excerpt if host is not None else None,
        engine=ShodanEngine.API,
        internetDb=None,  # asked next, by the state machine (AskInternetDb)
    )
