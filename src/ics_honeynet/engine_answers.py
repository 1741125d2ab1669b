"""Reading the second-opinion engines' answers (Shodan InternetDB, Censys): the pieces their
readers share (pure, no network). Each engine's own module says what its answers mean; here is
only how a body becomes JSON, how a list of strings is read, and whether an answer is about the
IP asked."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Final

from ics_honeynet.contracts import HONEYPOT_TAG, Verdict
from ics_honeynet.exposure import clip


@dataclass(frozen=True)
class Engine:
    """An engine as its client's requests need it: its name in messages, the errors its reader
    raises for "no answer" and "rate limited", and the largest body it may send."""

    name: str
    unavailable: type[Exception]
    rate_limited: type[Exception]
    bad_response: type[Exception]
    max_bytes: int
    not_found: str  # what its 404 for an unknown IP carries (said when a 404 lacks it)


class _NotJson:
    """The one value ``read_json`` returns for a body that is not JSON (JSON's null is None)."""


NOT_JSON: Final = _NotJson()


def read_json(body: bytes) -> Any:
    """The body's JSON value, or NOT_JSON."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError included; absurdly nested JSON
        return NOT_JSON


def read_texts(value: Any, limit: int) -> tuple[str, ...]:
    """A list's non-blank strings, clipped, the first ``limit``; anything else reads as none."""
    if not isinstance(value, list):
        return ()
    return tuple(clip(v) or "" for v in value if isinstance(v, str) and v.strip())[:limit]


def listing_verdict(tags: Collection[str], ports: Collection[int]) -> Verdict:
    """An index's verdict from what it lists on the IP: tagged (labelled) ``honeypot``, it is
    fingerprinted; with ports, indexed; else not indexed."""
    if HONEYPOT_TAG in tags:
        return Verdict.FINGERPRINTED
    return Verdict.INDEXED if ports else Verdict.NOT_INDEXED


def same_ip(value: Any, ip: str) -> bool:
    """Whether ``value`` is the address ``ip`` (in any of its spellings)."""
    try:
        return isinstance(value, str) and ipaddress.ip_address(value.strip()) == ipaddress.ip_address(ip)
    except ValueError:
        return False


def read_engine_answer[Host](
    engine: Engine,
    ip: str,
    status: int,
    body: bytes,
    *,
    is_not_found: Callable[[Any], bool],
    parse: Callable[[Any], Host],
) -> Host | None:
    """An engine's HTTP answer about ``ip``: ``parse``d from its 200, None for its 404 about an
    unknown IP (``is_not_found`` of the 404's JSON), or the engine's typed error: 429 rate
    limited; 5xx and 408 unavailable; a body past ``max_bytes`` (the client reads one byte
    more), any other status, a 404 that is not the engine's, a 200 that is not JSON: a bad
    response."""
    if status == 429:
        raise engine.rate_limited(f"{engine.name} answered HTTP 429 for {ip}")
    if status >= 500 or status == 408:
        raise engine.unavailable(f"{engine.name} answered HTTP {status} for {ip}")
    if len(body) > engine.max_bytes:
        raise engine.bad_response(f"{engine.name}'s answer for {ip} is larger than {engine.max_bytes} bytes")
    document = read_json(body)
    if status == 404:
        if is_not_found(document):
            return None
        raise engine.bad_response(f"{engine.name} answered HTTP 404 for {ip} without {engine.not_found}")
    if status != 200:
        raise engine.bad_response(f"{engine.name} answered HTTP {status} for {ip}")
    if document is NOT_JSON:
        raise engine.bad_response(f"{engine.name}'s answer for {ip} was not JSON (HTTP {status})")
    return parse(document)
