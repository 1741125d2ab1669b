"""What Shodan InternetDB knows about one honeypot IP, and what that means (pure, no network).

InternetDB (``GET https://internetdb.shodan.io/{ip}``, no key) is Shodan's free summary of its
index, refreshed weekly: ``{"cpes", "hostnames", "ip", "ports", "tags", "vulns"}`` for an IP it
has, and HTTP 404 ``{"detail": "No information available"}`` for one it has not. It is the sweep's
second opinion beside Shodan's API, and its only engine when the stack has no Shodan key
(``ShodanEngine=internetdb``).

Verdicts, in the words of Shodan's API check (exposure.py), read from less:

- ``NOT_INDEXED``: its 404 (only that answer: any other unexpected answer is an error, never
  "not indexed"), or a document without a port (hostnames alone are no service of ours);
- ``INDEXED``: it lists open ports on the IP;
- ``FINGERPRINTED``: it tags the IP ``honeypot`` (compared case-insensitively).

What it cannot tell: it has no banners and no dates, so a recycled IP's previous owner cannot be
told from us (every port counts as ours, where Shodan's API check ignores banners older than our
task); it has no honeyscore; and being weekly, it shows a honeypot days after Shodan indexed it.

Every other answer is a typed error whose class name the state machine Retries or Catches on
(429: rate limited; 5xx, timeouts, no connection: unavailable; anything else: a bad response).
Everything returned is bounded like exposure.py's check (clipped strings, capped lists).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ics_honeynet.contracts import (
    CheckResult,
    EngineOpinion,
    HoneyscoreStatus,
    ShodanEngine,
    TagSource,
    Verdict,
    format_utc,
)
from ics_honeynet.engine_answers import Engine, listing_verdict, read_engine_answer, read_texts, same_ip
from ics_honeynet.exposure import (
    MAX_HOSTNAMES,
    MAX_PORTS,
    Target,
    capped_sorted,
    clip,
    read_port,
    read_tags,
    tags_out,
)

INTERNETDB_URL = "https://internetdb.shodan.io"  # TLS only: the client never follows a redirect
NOT_FOUND_DETAIL = "No information available"
MAX_BODY_BYTES = 256 * 1024  # an InternetDB document is a few KB; a larger body is not one
MAX_CPES = 16
MAX_VULNS = 16  # listed; vulnCount has them all


class InternetDbError(Exception):
    """Base of the errors the state machine tells apart by class name."""


class InternetDbRateLimitError(InternetDbError):
    """InternetDB answered 429: retry later (the pace widens)."""


class InternetDbUnavailableError(InternetDbError):
    """InternetDB did not answer, timed out, or answered 5xx: retry later."""


class InternetDbResponseError(InternetDbError):
    """InternetDB answered something that is neither its document nor its 404 (no retry helps)."""


INTERNETDB = Engine(
    "InternetDB",
    unavailable=InternetDbUnavailableError,
    rate_limited=InternetDbRateLimitError,
    bad_response=InternetDbResponseError,
    max_bytes=MAX_BODY_BYTES,
    not_found="its 'no information' detail",
)


@dataclass(frozen=True)
class InternetDbHost:
    """InternetDB's document for one IP, read defensively and bounded."""

    ports: tuple[int, ...]
    tags: frozenset[str]  # normalised: stripped, lower case
    hostnames: tuple[str, ...]
    cpes: tuple[str, ...]
    vulns: tuple[str, ...]  # the first MAX_VULNS, sorted
    vuln_count: int

    @property
    def verdict(self) -> Verdict:
        return listing_verdict(self.tags, self.ports)

    def excerpt(self) -> dict[str, Any]:
        return {
            "source": ShodanEngine.INTERNETDB,  # whose document this excerpt is
            "ports": list(self.ports),
            "tags": tags_out(self.tags),
            "hostnames": list(self.hostnames),
            "cpes": list(self.cpes),
            "vulns": list(self.vulns),
            "vulnCount": self.vuln_count,
        }


def parse_document(document: Any, ip: str) -> InternetDbHost:
    """InternetDB's 200 answer: an object about ``ip`` with a list of ``ports``; malformed parts of
    the other lists are ignored. Anything else is an InternetDbResponseError."""
    if not isinstance(document, Mapping):
        raise InternetDbResponseError(f"InternetDB's answer for {ip} is a {type(document).__name__}, not an object")
    if not same_ip(document.get("ip"), ip):
        shown = clip(repr(document.get("ip")), 64)
        raise InternetDbResponseError(f"InternetDB answered about {shown} when asked about {ip}")
    if not isinstance(document.get("ports"), list):
        what = "lacks" if "ports" not in document else "has malformed"
        raise InternetDbResponseError(f"InternetDB's answer for {ip} {what} ports")
    ports = capped_sorted({p for p in map(read_port, document["ports"]) if p is not None}, MAX_PORTS)
    vulns = sorted(set(read_texts(document.get("vulns"), 10_000)))
    return InternetDbHost(
        ports=tuple(ports),
        tags=read_tags(document.get("tags")),
        hostnames=read_texts(document.get("hostnames"), MAX_HOSTNAMES),
        cpes=read_texts(document.get("cpes"), MAX_CPES),
        vulns=tuple(vulns[:MAX_VULNS]),
        vuln_count=len(vulns),
    )


def read_answer(ip: str, status: int, body: bytes) -> InternetDbHost | None:
    """InternetDB's HTTP answer for ``ip``: its document, None for its "no information" 404, or a
    typed error. ``body`` is at most MAX_BODY_BYTES (the client reads no more; one byte more
    means the body was larger)."""
    return read_engine_answer(
        INTERNETDB,
        ip,
        status,
        body,
        is_not_found=_is_no_information,
        parse=lambda document: parse_document(document, ip),
    )


def _is_no_information(document: Any) -> bool:
    detail = document.get("detail") if isinstance(document, Mapping) else None
    return isinstance(detail, str) and detail.strip().lower() == NOT_FOUND_DETAIL.lower()


def opinion(host: InternetDbHost | None) -> EngineOpinion:
    """InternetDB's verdict on the IP, with what it is based on (the check's ``internetDb``)."""
    if host is None:
        return {"verdict": Verdict.NOT_INDEXED, "ports": [], "tags": []}
    return {"verdict": host.verdict, "ports": list(host.ports), "tags": tags_out(host.tags)}


def assess(target: Target, host: InternetDbHost | None, *, checked_at: datetime) -> CheckResult:
    """The IP's check by InternetDB (the shape of Shodan's API check: the state machine handles
    both alike). No banner dates: every port counts as ours, nothing as a prior owner's."""
    said = opinion(host)
    verdict = host.verdict if host is not None else Verdict.NOT_INDEXED
    found = verdict != Verdict.NOT_INDEXED
    return CheckResult(
        ip=target.ip,
        verdict=verdict,
        found=found,
        taskArn=target.task_arn,
        startedAt=format_utc(target.started_at) if target.started_at else None,
        checkedAt=format_utc(checked_at),
        ports=said.get("ports", []),
        tags=said.get("tags", []),
        tagSource=TagSource.HOST if found else None,
        honeyscore=None,
        honeyscoreStatus=HoneyscoreStatus.NOT_ASKED,
        honeyscoreError=None,
        lastUpdate=None,
        org=None,
        priorOwner=None,
        host=host.excerpt() if host is not None else None,
        engine=ShodanEngine.INTERNETDB,
        internetDb=said,
    )
