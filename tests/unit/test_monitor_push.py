"""monitor_push: the webhook's checks, with in-memory stores (the DynamoDB store and the real
handler are tested through the local cloud: tests/integration/test_shodan_push.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.contracts import PushOutcome
from ics_honeynet.monitor_push import (
    MAX_NOTIFICATION_BYTES,
    REPLAY_WINDOW,
    SIGNATURE_HEADER,
    STATUS,
    PushUnavailableError,
    Receiver,
    WebhookRequest,
    execution_name,
    signature_matches,
    signature_of,
    window_of,
)

KEY = "local-shodan-key"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
OURS = "198.51.100.7"


def banner(ip: str = OURS, seen: datetime = NOW - timedelta(minutes=3), **extra: object) -> dict:
    return {
        "ip_str": ip,
        "port": 102,
        "transport": "tcp",
        "timestamp": seen.replace(tzinfo=None).isoformat(),  # Shodan's: no zone, UTC
        "hash": 135235426523586263462363463,  # Shodan's hashes exceed 64 bits
        "_shodan": {"module": "s7", "alert": {"id": "ALERT1", "name": "honeynet", "trigger": "new_service"}},
        **extra,
    }


def signed(body: bytes, key: str = KEY, method: str = "POST", **headers: str) -> WebhookRequest:
    return WebhookRequest(method, {SIGNATURE_HEADER: signature_of(body, key), **headers}, body)


def encode(document: object) -> bytes:
    return json.dumps(document).encode()


@dataclass
class MemoryStore:
    monitored: frozenset[str] | None = frozenset({OURS, "2001:db8::7"})
    seen: set[str] = field(default_factory=set)
    claims: set[tuple[str | None, int]] = field(default_factory=set)
    started: dict[int, int] = field(default_factory=dict)
    failing: bool = False

    def _check(self) -> None:
        if self.failing:
            raise PushUnavailableError("the push table did not answer (ThrottlingException)")

    def monitored_ips(self):
        self._check()
        return self.monitored

    def remember(self, digest, now, until):
        self._check()
        if digest in self.seen:
            return False
        self.seen.add(digest)
        return True

    def forget(self, digest):
        self._check()
        self.seen.discard(digest)

    def claim_sweep(self, ip, window, now, until):
        self._check()
        if (ip, window) in self.claims:
            return False
        self.claims.add((ip, window))
        return True

    def release_sweep(self, ip, window):
        self._check()
        self.claims.discard((ip, window))

    def take_targeted_slot(self, window, cap, until):
        self._check()
        if self.started.get(window, 0) >= cap:
            return False
        self.started[window] = self.started.get(window, 0) + 1
        return True


@dataclass
class RecordingStarter:
    started: list[tuple[str, dict]] = field(default_factory=list)
    fail: bool = False

    def start(self, name, execution_input):
        if self.fail:
            raise PushUnavailableError("Step Functions did not start the sweep (ServiceUnavailable)")
        self.started.append((name, dict(execution_input)))
        return name


def receiver(store=None, starter=None, key=KEY, now=NOW, cap=10) -> tuple[Receiver, MemoryStore, RecordingStarter]:
    store = store or MemoryStore()
    starter = starter or RecordingStarter()
    made = Receiver(api_key=lambda: key, store=store, starter=starter, clock=lambda: now, targeted_per_window=cap)
    return made, store, starter


# -- the signature -----------------------------------------------------------------------------------
def test_the_signature_is_the_hex_hmac_sha1_of_the_body_keyed_with_the_api_key():
    # RFC 2202-style known answer, computed independently of the code under test.
    assert signature_of(b"The quick brown fox jumps over the lazy dog", "key") == (
        "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9"
    )
    body = encode(banner())
    assert signature_matches(body, hmac.new(KEY.encode(), body, hashlib.sha1).hexdigest().upper(), KEY)
    # A plain SHA-1 of key and body (no HMAC) is not accepted.
    assert not signature_matches(body, hashlib.sha1(KEY.encode() + body).hexdigest(), KEY)
    assert not signature_matches(body, "é" * 40, KEY)


# -- a valid notification ---------------------------------------------------------------------------------
def test_a_signed_fresh_notification_about_our_ip_starts_one_sweep_of_that_ip():
    made, _store, starter = receiver()
    receipt = made.receive(signed(encode(banner())))
    assert (receipt.outcome, receipt.status, receipt.ip) == (PushOutcome.SWEEP_STARTED, 202, OURS)
    assert (receipt.trigger, receipt.alert_id) == ("new_service", "ALERT1")
    name = execution_name(OURS, window_of(NOW))
    assert starter.started == [(name, {"targetIp": OURS})] and name == f"push-198-51-100-7-{window_of(NOW)}"
    assert receipt.reply() == {"outcome": "SWEEP_STARTED", "detail": f"sweep {name} started", "execution": name}


def test_an_ipv6_notification_and_an_integer_ip_are_understood():
    made, _store, starter = receiver()
    assert made.receive(signed(encode(banner(ip="2001:DB8:0::7")))).outcome == PushOutcome.SWEEP_STARTED
    assert starter.started[-1][0].startswith("push-2001_db8__7-")
    made, _store, starter = receiver()
    document = {k: v for k, v in banner().items() if k != "ip_str"} | {"ip": 3325256711}  # 198.51.100.7
    assert made.receive(signed(encode(document))).ip == OURS


def test_a_base64_body_from_the_function_url_is_verified_on_its_bytes():
    body = encode(banner())
    event = {
        "requestContext": {"http": {"method": "POST"}},
        "headers": {"Shodan-Signature-SHA1": signature_of(body, KEY), "content-type": "application/octet-stream"},
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }
    request = WebhookRequest.from_function_url(event)
    assert request.body == body and request.method == "POST"
    assert receiver()[0].receive(request).outcome == PushOutcome.SWEEP_STARTED


# -- what is refused, and how ----------------------------------------------------------------------------
def test_refusals_answer_their_status_and_start_nothing():
    body = encode(banner())
    cases = {
        PushOutcome.METHOD_NOT_ALLOWED: signed(body, method="GET"),
        PushOutcome.UNSIGNED: WebhookRequest("POST", {}, body),
        PushOutcome.BAD_SIGNATURE: signed(body, key="another-key"),
        PushOutcome.TOO_LARGE: signed(b" " * (MAX_NOTIFICATION_BYTES + 1)),
        PushOutcome.MALFORMED: signed(b"not json"),
    }
    for outcome, request in cases.items():
        made, store, starter = receiver()
        receipt = made.receive(request)
        assert receipt.outcome == outcome and receipt.status == STATUS[outcome]
        assert starter.started == [] and store.seen == set() and store.claims == set()
    assert {STATUS[o] for o in cases} == {405, 401, 403, 413, 400}


def test_an_unsigned_request_is_refused_before_the_key_is_read():
    reads = []
    made = Receiver(api_key=lambda: reads.append(1) or KEY, store=MemoryStore(), starter=RecordingStarter())
    assert made.receive(WebhookRequest("POST", {}, encode(banner()))).outcome == PushOutcome.UNSIGNED
    assert reads == []


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([banner()], "not a JSON object"),
        ({"port": 102, "timestamp": "2026-11-25T09:57:00"}, "names no IP"),
        (banner(ip="not-an-ip"), "names no IP"),
        ({**banner(), "timestamp": None}, "no timestamp"),
        ({**banner(), "timestamp": "yesterday"}, "not an ISO 8601"),
    ],
)
def test_a_signed_body_that_is_not_a_banner_is_malformed(document, reason):
    receipt = receiver()[0].receive(signed(encode(document)))
    assert receipt.outcome == PushOutcome.MALFORMED and reason in receipt.detail


def test_an_ip_the_alert_does_not_monitor_for_us_is_acknowledged_and_ignored():
    made, store, starter = receiver()
    receipt = made.receive(signed(encode(banner(ip="203.0.113.9"))))
    assert (receipt.outcome, receipt.status) == (PushOutcome.NOT_OURS, 202)
    assert store.seen == set() and starter.started == []
    made, _store, starter = receiver(store=MemoryStore(monitored=None))  # no alert synced yet
    assert made.receive(signed(encode(banner()))).outcome == PushOutcome.NOT_OURS
    assert starter.started == []


@pytest.mark.parametrize("age", [REPLAY_WINDOW + timedelta(minutes=1), -timedelta(hours=1)])
def test_a_banner_outside_the_replay_window_is_stale(age):
    made, store, starter = receiver()
    receipt = made.receive(signed(encode(banner(seen=NOW - age))))
    assert (receipt.outcome, receipt.status) == (PushOutcome.STALE, 202)
    assert starter.started == [] and store.seen == set()


def test_a_replayed_notification_starts_nothing_more():
    made, _store, starter = receiver()
    request = signed(encode(banner()))
    assert made.receive(request).outcome == PushOutcome.SWEEP_STARTED
    replay = made.receive(request)
    assert (replay.outcome, replay.status) == (PushOutcome.REPLAYED, 200)
    assert len(starter.started) == 1


def test_a_second_notification_about_the_ip_in_the_window_joins_the_running_sweep():
    made, store, starter = receiver()
    first = made.receive(signed(encode(banner(port=102))))
    second = made.receive(signed(encode(banner(port=502))))
    assert (first.outcome, second.outcome) == (PushOutcome.SWEEP_STARTED, PushOutcome.ALREADY_SWEEPING)
    assert len(starter.started) == 1
    later, _store, _starter = receiver(store=store, starter=starter, now=NOW + timedelta(minutes=10))
    assert later.receive(signed(encode(banner(port=80)))).outcome == PushOutcome.SWEEP_STARTED
    assert len(starter.started) == 2


def test_a_burst_past_the_cap_starts_one_sweep_of_every_ip_and_no_more():
    ips = [f"198.51.100.{n}" for n in range(1, 31)]
    made, _store, starter = receiver(store=MemoryStore(monitored=frozenset(ips)), cap=3)
    outcomes = [made.receive(signed(encode(banner(ip=ip)))).outcome for ip in ips]
    assert outcomes[:3] == [PushOutcome.SWEEP_STARTED] * 3
    assert outcomes[3] == PushOutcome.FULL_SWEEP_STARTED
    assert set(outcomes[4:]) == {PushOutcome.ALREADY_SWEEPING}
    names = [name for name, _input in starter.started]
    assert len(names) == 4 and names[3] == f"push-all-{window_of(NOW)}"
    assert starter.started[3][1] == {}  # the sweep of every IP names none


def test_a_store_that_fails_answers_503_and_lets_shodans_retry_through():
    starter = RecordingStarter(fail=True)
    made, store, _ = receiver(starter=starter)
    request = signed(encode(banner()))
    receipt = made.receive(request)
    assert (receipt.outcome, receipt.status) == (PushOutcome.UNAVAILABLE, 503)
    assert receipt.reply()["detail"] == "temporarily unavailable, retry later"  # what failed stays in the log
    assert store.seen == set() and store.claims == set()  # undone: the retry is processed
    starter.fail = False
    assert made.receive(request).outcome == PushOutcome.SWEEP_STARTED
    made, _store, starter = receiver(store=MemoryStore(failing=True))
    assert made.receive(request).outcome == PushOutcome.UNAVAILABLE and starter.started == []


def test_an_unreadable_key_answers_503():
    def no_key() -> str:
        raise PushUnavailableError("the Shodan API key could not be read (ParameterNotFound)")

    made = Receiver(api_key=no_key, store=MemoryStore(), starter=RecordingStarter())
    assert made.receive(signed(encode(banner()))).status == 503


# -- property: nothing but the exact signed body starts a sweep --------------------------------------------
BODY = encode(banner())
GOOD = signature_of(BODY, KEY)


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(GOOD) - 1),
    replacement=st.characters(codec="ascii", exclude_characters="\r\n"),
)
def test_any_mutated_signature_is_refused(position, replacement):
    mutated = GOOD[:position] + replacement + GOOD[position + 1 :]
    if mutated.lower() == GOOD:
        return  # the same signature (hex is case-insensitive)
    made, store, starter = receiver()
    receipt = made.receive(WebhookRequest("POST", {SIGNATURE_HEADER: mutated}, BODY))
    assert receipt.outcome in (PushOutcome.BAD_SIGNATURE, PushOutcome.UNSIGNED)
    assert starter.started == [] and store.seen == set()


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(BODY) - 1),
    byte=st.integers(min_value=0, max_value=255),
    extra=st.binary(max_size=8),
)
def test_any_mutated_body_under_the_original_signature_is_refused(position, byte, extra):
    mutated = BODY[:position] + bytes([byte]) + BODY[position + 1 :] + extra
    if mutated == BODY:
        return
    made, _store, starter = receiver()
    receipt = made.receive(WebhookRequest("POST", {SIGNATURE_HEADER: GOOD}, mutated))
    assert receipt.outcome == PushOutcome.BAD_SIGNATURE and starter.started == []


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=2048), key=st.text(min_size=1, max_size=40))
def test_arbitrary_bytes_signed_with_any_other_key_start_nothing(body, key):
    if key == KEY:
        return
    made, _store, starter = receiver()
    assert made.receive(signed(body, key=key)).outcome == PushOutcome.BAD_SIGNATURE
    assert starter.started == []
