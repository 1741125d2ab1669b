"""What Censys knows about one honeypot IP, and what that means (pure, no network).

Censys is the sweep's second index beside Shodan, optional: asked only when the stack names an
SSM parameter holding a Censys Platform personal access token (``CensysTokenParameter``). Its
Platform API v3 host lookup is ``GET https://api.platform.censys.io/v3/global/asset/host/{ip}``
with ``Authorization: Bearer <token>``; a host it has comes back as
``{"result": {"resource": {"ip", "services": [{"port", "protocol", "transport_protocol",
"labels": [{"value"}]}], "labels": [{"value"}], ...}}}`` (Censys's SDK models ResponseEnvelope,
HostAsset, Host, Service, Label; README, "Censys"). Free accounts may call the host lookup; each
lookup costs one credit, 100 a month (README cites Censys's pages).

Verdicts, read like InternetDB's (internetdb.py):

- ``NOT_INDEXED``: its 404 for the IP (a JSON object, its problem document), or a host record
  without any service: Censys knows of the IP but no service of ours;
- ``INDEXED``: it lists services (ports) on the IP;
- ``FINGERPRINTED``: a label ``honeypot`` on the host or on any service (compared in lower case).
  Censys's label vocabulary for honeypots could not be confirmed (README): only that exact label
  makes this verdict; every label is kept in the opinion, so a reader sees what Censys said.

What it cannot tell: like InternetDB, no banner dates here, so a recycled IP's previous owner's
services count as ours.

Every other answer is a typed error whose class name the state machine Retries or Catches on
(429: rate limited; 5xx, 408, timeouts, no connection: unavailable; 401/403: the token rejected;
anything else: a bad response). No error message carries the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ics_honeynet.contracts import EngineOpinion, Verdict
from ics_honeynet.engine_answers import Engine, listing_verdict, read_engine_answer, same_ip
from ics_honeynet.exposure import MAX_PORTS, MAX_TAGS, capped_sorted, clip, read_port, tags_out

CENSYS_HOST_URL = "https://api.platform.censys.io/v3/global/asset/host"  # TLS only, no redirect followed
SOURCE = "censys"  # whose record an excerpt is
# A host record carries each service's parsed data (HTTP bodies, certificates): far larger than
# InternetDB's summary. Our honeypots serve a handful of services; a body past this is not ours.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_PROTOCOLS = 32


class CensysError(Exception):
    """Base of the errors the state machine tells apart by class name."""


class CensysRateLimitError(CensysError):
    """Censys answered 429: retry later (the pace widens)."""


class CensysUnavailableError(CensysError):
    """Censys did not answer, timed out, or answered 5xx/408: retry later."""


class CensysAuthError(CensysError):
    """Censys rejected the token (401/403): no retry helps; the email says so."""


class CensysResponseError(CensysError):
    """Censys answered something that is neither a host record nor its 404 (no retry helps)."""


class CensysTokenUnavailableError(CensysError):
    """The SSM parameter holding the Censys token is missing, unreadable or empty."""


CENSYS = Engine(
    "Censys",
    unavailable=CensysUnavailableError,
    rate_limited=CensysRateLimitError,
    bad_response=CensysResponseError,
    max_bytes=MAX_BODY_BYTES,
    not_found="its problem document",
)


@dataclass(frozen=True)
class CensysHost:
    """Censys's host record for one IP, read defensively and bounded."""

    ports: tuple[int, ...]
    protocols: tuple[str, ...]  # the services' protocol names (e.g. MODBUS), sorted, distinct
    labels: frozenset[str]  # the host's and its services' labels: stripped, lower case

    @property
    def verdict(self) -> Verdict:
        return listing_verdict(self.labels, self.ports)


def _labels(value: Any) -> set[str]:
    """A ``labels`` list's values (each an object with a string ``value``); malformed ones ignored."""
    if not isinstance(value, list):
        return set()
    found = set()
    for label in value:
        text = label.get("value") if isinstance(label, Mapping) else None
        if isinstance(text, str) and text.strip():
            found.add(clip(text.strip().lower(), 32) or "")
    return found


def parse_record(document: Any, ip: str) -> CensysHost:
    """Censys's 200 answer: ``result.resource`` about ``ip``; its services read one by one, a
    malformed service ignored. Anything else is a CensysResponseError."""
    result = document.get("result") if isinstance(document, Mapping) else None
    resource = result.get("resource") if isinstance(result, Mapping) else None
    if not isinstance(resource, Mapping):
        raise CensysResponseError(f"Censys's answer for {ip} has no result.resource object")
    if not same_ip(resource.get("ip"), ip):
        shown = clip(repr(resource.get("ip")), 64)
        raise CensysResponseError(f"Censys answered about {shown} when asked about {ip}")
    services = resource.get("services")
    if services is not None and not isinstance(services, list):
        raise CensysResponseError(f"Censys's answer for {ip} has malformed services")
    ports, protocols, labels = set(), set(), _labels(resource.get("labels"))
    for service in services or []:
        if not isinstance(service, Mapping) or (port := read_port(service.get("port"))) is None:
            continue
        ports.add(port)
        labels |= _labels(service.get("labels"))
        name = service.get("protocol")
        if isinstance(name, str) and name.strip():
            protocols.add(clip(name.strip(), 32) or "")
    return CensysHost(
        ports=tuple(capped_sorted(ports, MAX_PORTS)),
        protocols=tuple(capped_sorted(protocols, MAX_PROTOCOLS)),
        labels=frozenset(capped_sorted(labels, MAX_TAGS)),
    )


def read_answer(ip: str, status: int, body: bytes) -> CensysHost | None:
    """Censys's HTTP answer for ``ip``: its host record, None for its 404, or a typed error.
    ``body`` is at most MAX_BODY_BYTES + 1 (the client reads no more; one more means larger)."""
    if status in (401, 403):
        raise CensysAuthError(f"Censys rejected the token (HTTP {status}) when asked about {ip}")
    return read_engine_answer(
        CENSYS, ip, status, body, is_not_found=_is_problem_404, parse=lambda document: parse_record(document, ip)
    )


def _is_problem_404(document: Any) -> bool:
    """Censys's errors are problem documents (application/problem+json): a 404 that is not a JSON
    object (a proxy's page, a wrong URL's HTML) is not Censys saying "no such host"."""
    return isinstance(document, Mapping) and document.get("status", 404) == 404


def opinion(host: CensysHost | None) -> EngineOpinion:
    """Censys's verdict on the IP, with what it is based on (the check's ``censys``): its ports,
    its services' protocols, and its labels as the opinion's tags."""
    if host is None:
        return {"verdict": Verdict.NOT_INDEXED, "ports": [], "protocols": [], "tags": []}
    return {
        "verdict": host.verdict,
        "ports": list(host.ports),
        "protocols": list(host.protocols),
        "tags": tags_out(host.labels),
    }
