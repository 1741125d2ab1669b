"""Shodan Monitor's push: what the webhook does with one HTTP request (pure; its stores passed in).

Shodan Monitor watches the IPs of a network alert and, when it finds something new on one
(trigger ``new_service``, ``industrial_control_system``, ...), POSTs that banner to the alert's
webhook notifier: the body is one JSON-encoded banner, exactly as the API returns banners (with
``_shodan.alert {id, name, trigger}``), and the headers name the alert (``SHODAN-ALERT-ID``,
``-NAME``, ``-TRIGGER``) and sign the body (``SHODAN-SIGNATURE-SHA1``).
Sources: help.shodan.io/developer-fundamentals/monitor-webhooks ("Working with the Shodan
Monitor webhook"); book.shodan.io/websites/monitor/notifiers/webhook; Elastic's Shodan
integration (elastic/integrations, packages/shodan/docs/README.md: "SHA1 signature encoded
using your API key to validate the notification's origin, as received via Shodan-Signature-SHA1").

**The signature**, as we verify it: the lowercase hex HMAC-SHA1 of the raw request body, keyed
with the account's API key (UTF-8). Shodan's pages say only "a SHA1 signature ... using your API
key"; HMAC-SHA1 over the body is the construction the project's reference notes record and the
one every published receiver uses. The ``shodan`` client (1.31.0) has no code for it: it
creates alerts and notifiers, it never receives. Verification fails closed: were Shodan's
construction ever different, every notification would be refused (403, counted in the
``ShodanNotifications`` metric by outcome) and the scheduled sweep would still find the IP.

**Checks, in order** (``Receiver.receive``; each outcome is a ``PushOutcome``):

1. POST only (405); the body at most ``MAX_NOTIFICATION_BYTES`` (413), checked before anything
   reads it; the signature header present (401), before the key is even read; the signature
   matching (403), compared in constant time.
2. The body a banner (400): a JSON object with an IP (``ip_str``, or the integer ``ip``) and a
   ``timestamp``. Only a signed body is parsed.
3. The IP one the alert monitors for us (``NOT_OURS``, 202: acknowledged so Shodan does not retry a
   genuine notification, usually about an IP we rotated away from before the alert was edited).
4. Fresh (``STALE``, 202): the banner's timestamp within ``REPLAY_WINDOW`` of now (and not ahead
   of it by more than ``CLOCK_SKEW``). A Shodan signature carries no time, so a captured
   notification would stay valid forever; the window bounds how long a digest must be kept.
5. Not seen before (``REPLAYED``, 200): a conditional write of the body's SHA-256 (kept for the
   window and a day). A replay is acknowledged, never acted on.
6. One targeted sweep per IP per ``SWEEP_WINDOW_SECONDS`` (``ALREADY_SWEEPING``), and at most
   ``TARGETED_SWEEPS_PER_WINDOW`` of them in all per window: past the cap, one sweep of every IP
   for that window (``FULL_SWEEP_STARTED``) covers the rest of a burst, so no notification is lost
   and no storm of executions starts. Both are claims in DynamoDB (conditional writes) *and*
   deterministic execution names (``push-<ip>-<window>``, ``push-all-<window>``): Step Functions
   refuses a second execution of a name (ExecutionAlreadyExists, the name idempotency of
   StartExecution), so even two webhooks racing past a claim cannot start two.

A failure of a store (the key, the push table, Step Functions) answers 503 and undoes this
request's claims, so Shodan's retry of the same notification is processed, not taken for a replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ics_honeynet.contracts import PushOutcome, PushReply, SweepInput, parse_utc

SIGNATURE_HEADER = "shodan-signature-sha1"  # function URLs give header names in lower case
ALERT_ID_HEADER = "shodan-alert-id"
TRIGGER_HEADER = "shodan-alert-trigger"
# A banner is a few KB; an HTTP banner with its page and a screenshot a few hundred. Far below
# Lambda's 6 MB invocation payload (which the function URL enforces itself, with its own 413).
MAX_NOTIFICATION_BYTES = 1024 * 1024
REPLAY_WINDOW = timedelta(days=7)
CLOCK_SKEW = timedelta(minutes=10)
SEEN_FOR = REPLAY_WINDOW + timedelta(days=1)  # a digest outlives the window it guards
SWEEP_WINDOW_SECONDS = 600
TARGETED_SWEEPS_PER_WINDOW = 10
EXECUTION_NAME_LIMIT = 80  # Step Functions' execution names: 1-80 of [A-Za-z0-9_-] here

STATUS = {
    PushOutcome.SWEEP_STARTED: 202,
    PushOutcome.FULL_SWEEP_STARTED: 202,
    PushOutcome.ALREADY_SWEEPING: 202,
    PushOutcome.NOT_OURS: 202,
    PushOutcome.STALE: 202,
    PushOutcome.REPLAYED: 200,
    PushOutcome.METHOD_NOT_ALLOWED: 405,
    PushOutcome.TOO_LARGE: 413,
    PushOutcome.UNSIGNED: 401,
    PushOutcome.BAD_SIGNATURE: 403,
    PushOutcome.MALFORMED: 400,
    PushOutcome.UNAVAILABLE: 503,
}


class PushUnavailableError(Exception):
    """A store the webhook needs did not answer (the key, the push table, Step Functions)."""


class MalformedNotification(ValueError):
    """A signed body that is not a Shodan banner."""


# -- the request ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebhookRequest:
    """One HTTP request as the webhook sees it: header names in lower case, the raw body."""

    method: str
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def from_function_url(cls, event: Mapping[str, Any]) -> WebhookRequest:
        """A Lambda function URL's event (payload format 2.0: ``requestContext.http.method``,
        lower-case ``headers``, ``body`` as text, base64 when ``isBase64Encoded``)."""
        method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                body = b"\x00"  # not base64: no signature can match it
        else:
            body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else b""
        return cls(method=method.upper(), headers=headers, body=body)


# -- the signature --------------------------------------------------------------------------------
def signature_of(body: bytes, api_key: str) -> str:
    """What SHODAN-SIGNATURE-SHA1 must say for ``body``: hex HMAC-SHA1 keyed with the API key."""
    return hmac.new(api_key.encode(), body, hashlib.sha1).hexdigest()


def signature_matches(body: bytes, signature: str, api_key: str) -> bool:
    """Constant-time comparison (hmac.compare_digest); hex is compared case-insensitively."""
    presented = signature.strip().lower()
    if not presented.isascii():
        return False
    return hmac.compare_digest(signature_of(body, api_key).encode(), presented.encode())


# -- the banner ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Notification:
    """What the webhook needs of a banner: whose it is and when Shodan saw it."""

    ip: str
    seen: datetime
    port: int | None
    trigger: str | None
    alert_id: str | None


def parse_notification(body: bytes, headers: Mapping[str, str]) -> Notification:
    try:
        banner = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise MalformedNotification("the body is not JSON") from None
    if not isinstance(banner, dict):
        raise MalformedNotification("the body is not a JSON object (a banner)")
    ip = _banner_ip(banner)
    stamp = banner.get("timestamp")
    if not isinstance(stamp, str):
        raise MalformedNotification("the banner has no timestamp")
    try:
        seen = parse_utc(stamp[:64])
    except ValueError:
        raise MalformedNotification("the banner's timestamp is not an ISO 8601 time") from None
    port = banner.get("port")
    alert = (banner.get("_shodan") or {}).get("alert") if isinstance(banner.get("_shodan"), dict) else None
    alert = alert if isinstance(alert, dict) else {}
    return Notification(
        ip=ip,
        seen=seen,
        port=port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else None,
        trigger=_short(headers.get(TRIGGER_HEADER) or alert.get("trigger")),
        alert_id=_short(headers.get(ALERT_ID_HEADER) or alert.get("id")),
    )


def _banner_ip(banner: Mapping[str, Any]) -> str:
    raw = banner.get("ip_str")
    try:
        if isinstance(raw, str):
            return str(ipaddress.ip_address(raw.strip()))
        number = banner.get("ip")
        if isinstance(number, int) and not isinstance(number, bool):
            return str(ipaddress.ip_address(number))
    except ValueError:
        pass
    raise MalformedNotification("the banner names no IP address (ip_str / ip)")


def _short(value: Any) -> str | None:
    return str(value)[:64] if isinstance(value, str | int) and not isinstance(value, bool) else None


# -- names and claims ------------------------------------------------------------------------------
def window_of(now: datetime) -> int:
    """The sweep window ``now`` falls in (a whole number, the same for every container)."""
    return int(now.timestamp()) // SWEEP_WINDOW_SECONDS


def execution_name(ip: str | None, window: int) -> str:
    """``push-<ip>-<window>``, or ``push-all-<window>`` for the sweep of every IP. IP characters
    Step Functions refuses in names (``:``) become ``_``: IPv4 dots become ``-``."""
    token = "all" if ip is None else re.sub(r"[^0-9A-Za-z]", lambda m: "-" if m.group() == "." else "_", ip)
    name = f"push-{token}-{window}"
    assert len(name) <= EXECUTION_NAME_LIMIT  # an IPv6 address is at most 39 characters
    return name


def sweep_input(ip: str | None) -> SweepInput:
    """The execution's input: deterministic per name, so a retried StartExecution is idempotent."""
    return {"targetIp": ip} if ip is not None else {}


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# -- the stores it needs ---------------------------------------------------------------------------
class PushStore(Protocol):
    """The push table (push_table.DynamoPushStore): conditional writes with an expiry."""

    def monitored_ips(self) -> frozenset[str] | None:
        """The IPs the Shodan alert monitors for this stack; None when no alert was synced."""

    def remember(self, digest: str, now: datetime, until: datetime) -> bool:
        """Record a notification's digest; False if it is recorded (and not expired) already."""

    def forget(self, digest: str) -> None: ...

    def claim_sweep(self, ip: str | None, window: int, now: datetime, until: datetime) -> bool:
        """Claim the window's sweep of ``ip`` (None: of every IP); False if claimed already."""

    def release_sweep(self, ip: str | None, window: int) -> None: ...

    def take_targeted_slot(self, window: int, cap: int, until: datetime) -> bool:
        """One of the window's ``cap`` targeted sweeps; False when they are all taken."""


class SweepStarter(Protocol):
    def start(self, name: str, execution_input: SweepInput) -> str:
        """Start the sweep named ``name`` (idempotent per name); its execution's name. Raises
        PushUnavailableError if Step Functions did not answer."""


# -- the decision ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    outcome: PushOutcome
    detail: str
    ip: str | None = None
    execution: str | None = None
    trigger: str | None = None
    alert_id: str | None = None

    @property
    def status(self) -> int:
        return STATUS[self.outcome]

    def reply(self) -> PushReply:
        # Whatever failed stays in the log: the caller may be anyone (the URL takes no AWS auth).
        detail = "temporarily unavailable, retry later" if self.outcome == PushOutcome.UNAVAILABLE else self.detail
        reply: PushReply = {"outcome": self.outcome, "detail": detail}
        if self.execution:
            reply["execution"] = self.execution
        return reply


@dataclass(frozen=True)
class Receiver:
    api_key: Callable[[], str]  # raises PushUnavailableError when it cannot be read
    store: PushStore
    starter: SweepStarter
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    targeted_per_window: int = TARGETED_SWEEPS_PER_WINDOW

    def receive(self, request: WebhookRequest) -> Receipt:
        if request.method != "POST":
            return Receipt(PushOutcome.METHOD_NOT_ALLOWED, "only POST is accepted")
        if len(request.body) > MAX_NOTIFICATION_BYTES:
            return Receipt(PushOutcome.TOO_LARGE, f"a notification is at most {MAX_NOTIFICATION_BYTES} bytes")
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return Receipt(PushOutcome.UNSIGNED, "no SHODAN-SIGNATURE-SHA1 header")
        try:
            key = self.api_key()
        except PushUnavailableError as error:
            return Receipt(PushOutcome.UNAVAILABLE, str(error))
        if not signature_matches(request.body, signature, key):
            return Receipt(PushOutcome.BAD_SIGNATURE, "the signature does not match the body")
        try:
            notification = parse_notification(request.body, request.headers)
        except MalformedNotification as error:
            return Receipt(PushOutcome.MALFORMED, str(error))
        try:
            return self._act(notification, body_digest(request.body))
        except PushUnavailableError as error:
            return self._about(notification, PushOutcome.UNAVAILABLE, str(error))

    def _about(self, n: Notification, outcome: PushOutcome, detail: str, execution: str | None = None) -> Receipt:
        return Receipt(outcome, detail, ip=n.ip, execution=execution, trigger=n.trigger, alert_id=n.alert_id)

    def _act(self, n: Notification, digest: str) -> Receipt:
        now = self.clock()
        monitored = self.store.monitored_ips()
        if monitored is None or n.ip not in monitored:
            return self._about(n, PushOutcome.NOT_OURS, "not an IP the alert monitors for this honeynet")
        if n.seen < now - REPLAY_WINDOW or n.seen > now + CLOCK_SKEW:
            return self._about(n, PushOutcome.STALE, f"the banner's timestamp is outside {REPLAY_WINDOW.days} days")
        if not self.store.remember(digest, now, now + SEEN_FOR):
            return self._about(n, PushOutcome.REPLAYED, "this notification was received before")
        window = window_of(now)
        until = now + timedelta(seconds=2 * SWEEP_WINDOW_SECONDS)
        claimed: list[str | None] = []
        try:
            target: str | None = n.ip
            if not self.store.claim_sweep(target, window, now, until):
                return self._about(n, PushOutcome.ALREADY_SWEEPING, "this IP's sweep already started this window")
            claimed.append(target)
            if not self.store.take_targeted_slot(window, self.targeted_per_window, until):
                target = None  # a burst: one sweep of every IP instead of one more targeted sweep
                if not self.store.claim_sweep(None, window, now, until):
                    return self._about(n, PushOutcome.ALREADY_SWEEPING, "a sweep of every IP already started")
                claimed.append(None)
            name = execution_name(target, window)
            execution = self.starter.start(name, sweep_input(target))
        except PushUnavailableError:
            self._undo(digest, window, claimed)
            raise
        outcome = PushOutcome.SWEEP_STARTED if target is not None else PushOutcome.FULL_SWEEP_STARTED
        return self._about(n, outcome, f"sweep {execution} started", execution=execution)

    def _undo(self, digest: str, window: int, claimed: list[str | None]) -> None:
        """Shodan retries a notification that was answered 503: let the retry through."""
        try:
            for ip in claimed:
                self.store.release_sweep(ip, window)
            self.store.forget(digest)
        except PushUnavailableError:
            pass  # the claims expire with the window; the 503 stands either way
