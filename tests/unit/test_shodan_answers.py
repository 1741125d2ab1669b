"""Shodan's answers read into typed results or typed errors (exposure.py): every kind of answer,
the error's class and its whole message (the email and the sweep record quote it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ics_honeynet.exposure import (
    NOT_FOUND_MESSAGE,
    Honeyscore,
    HostDocument,
    ScanAnswer,
    ShodanAuthError,
    ShodanCreditsError,
    ShodanRateLimitError,
    ShodanResponseError,
    ShodanUnavailableError,
    classify_api_error,
    has_our_banners,
    honeyscore_failed,
    parse_banner,
    parse_honeyscore,
    parse_scan_answer,
)

RATE = "Request rate limit reached (1 request/ second). Please wait a second before trying again"


@pytest.mark.parametrize(
    ("message", "status", "transport", "error", "text"),
    [
        (RATE, 429, None, ShodanRateLimitError, RATE),
        ("anything", 429, None, ShodanRateLimitError, "anything"),
        ("Rate limit reached", None, None, ShodanRateLimitError, "Rate limit reached"),
        ("Insufficient query credits, please upgrade", 401, None, ShodanCreditsError,
         "Insufficient query credits, please upgrade"),
        ("Insufficient funds", 401, None, ShodanAuthError, "Shodan rejected the API key: Insufficient funds"),
        ("No credits", 402, None, ShodanResponseError, "Shodan answered an error: No credits"),
        ("Invalid API key", 401, None, ShodanAuthError, "Shodan rejected the API key: Invalid API key"),
        ("whatever", 403, None, ShodanAuthError, "Shodan rejected the API key: whatever"),
        ("Invalid API key", None, None, ShodanAuthError, "Shodan rejected the API key: Invalid API key"),
        ("Access denied (403 Forbidden)", None, None, ShodanAuthError,
         "Shodan rejected the API key: Access denied (403 Forbidden)"),
        ("Unable to connect to Shodan", None, "could not connect to Shodan", ShodanUnavailableError,
         "could not connect to Shodan"),
        ("Unable to connect to Shodan", None, None, ShodanUnavailableError, "Unable to connect to Shodan"),
        ("Internal server error", 500, None, ShodanUnavailableError, "Shodan answered HTTP 500: Internal server error"),
        ("oops", 503, None, ShodanUnavailableError, "Shodan answered HTTP 503: oops"),
        ("oops", 500, None, ShodanUnavailableError, "Shodan answered HTTP 500: oops"),
        ("oops", 499, None, ShodanResponseError, "Shodan answered an error: oops"),
        ("<html>502 Bad Gateway</html>", None, None, ShodanUnavailableError, "<html>502 Bad Gateway</html>"),
        ("Unable to parse JSON response", 200, None, ShodanResponseError, "Shodan's answer was not JSON (HTTP 200)"),
        ("Request timed out. Please try again in a few seconds.", 200, None, ShodanUnavailableError,
         "Shodan answered HTTP 200: Request timed out. Please try again in a few seconds."),
        ("timeout", None, None, ShodanUnavailableError, "timeout"),
        ("Please try again later", 200, None, ShodanUnavailableError,
         "Shodan answered HTTP 200: Please try again later"),
        ("Service temporarily unavailable", 200, None, ShodanUnavailableError,
         "Shodan answered HTTP 200: Service temporarily unavailable"),
        ("an internal server error", 200, None, ShodanUnavailableError,
         "Shodan answered HTTP 200: an internal server error"),
        ("No information available", 200, None, ShodanResponseError,
         "Shodan answered an error: No information available"),
        ("Something else", 400, None, ShodanResponseError, "Shodan answered an error: Something else"),
        ("", None, None, ShodanResponseError, "Shodan answered an error: "),
    ],
)  # fmt: skip
def test_each_error_answer_is_typed_and_said(message, status, transport, error, text):
    typed = classify_api_error(message, status, transport)
    assert type(typed) is error and str(typed) == text


def test_no_information_is_shodans_normal_answer_not_an_error():
    assert classify_api_error(NOT_FOUND_MESSAGE) is None
    assert classify_api_error("No information available for that IP (cached)", 404) is None
    assert classify_api_error(None, 404) is not None  # type: ignore[arg-type]  # a 404 saying nothing
    long = "x" * 400
    assert str(classify_api_error(long, 400)) == "Shodan answered an error: " + "x" * 300


def test_a_scan_receipt_is_read_and_anything_else_is_an_error():
    assert parse_scan_answer({"id": "ABC", "count": 1, "credits_left": 99}, "192.0.2.1") == ScanAnswer("ABC", 1, 99)
    assert parse_scan_answer({"id": "ABC", "count": 2}, "192.0.2.1") == ScanAnswer("ABC", 2, None)
    assert parse_scan_answer({"id": "ABC", "count": 0, "credits_left": True}, "x") == ScanAnswer("ABC", 0, None)
    for answer in (None, [], {"count": 1}, {"id": "", "count": 1}, {"id": 5, "count": 1}, {"id": "A"},
                   {"id": "A", "count": True}, {"id": "A", "count": "1"}):  # fmt: skip
        with pytest.raises(ShodanResponseError) as refused:
            parse_scan_answer(answer, "192.0.2.1")
        assert str(refused.value) == f"Shodan's answer to the scan of 192.0.2.1 is not a scan receipt: {answer!r}"


@pytest.mark.parametrize(
    ("answer", "score"),
    [
        (0.8, Honeyscore("SCORED", 0.8)),
        (1, Honeyscore("SCORED", 1.0)),
        (0, Honeyscore("SCORED", 0.0)),
        (1.5, Honeyscore("NO_SCORE", reason="Shodan answered 1.5 instead of a score")),
        (-0.1, Honeyscore("NO_SCORE", reason="Shodan answered -0.1 instead of a score")),
        (True, Honeyscore("NO_SCORE", reason="Shodan answered True instead of a score")),
        ("0.8", Honeyscore("NO_SCORE", reason="Shodan answered '0.8' instead of a score")),
        (None, Honeyscore("NO_SCORE", reason="Shodan answered None instead of a score")),
        ("x" * 100, Honeyscore("NO_SCORE", reason=f"Shodan answered '{'x' * 57}\u2026 instead of a score")),
    ],
)
def test_a_honeyscore_is_a_number_from_0_to_1(answer, score):
    assert parse_honeyscore(answer) == score


def test_a_failed_honeyscore_is_unknown_when_shodan_may_answer_later():
    assert honeyscore_failed(ShodanRateLimitError("slow down")) == Honeyscore(
        "UNAVAILABLE", reason="ShodanRateLimitError: slow down"
    )
    assert honeyscore_failed(ShodanUnavailableError("HTTP 503")) == Honeyscore(
        "UNAVAILABLE", reason="ShodanUnavailableError: HTTP 503"
    )
    assert honeyscore_failed(ShodanResponseError("no score")) == Honeyscore(
        "NO_SCORE", reason="ShodanResponseError: no score"
    )
    assert honeyscore_failed(ShodanAuthError("x" * 300)).reason == "ShodanAuthError: " + "x" * 177 + "\u2026"


def test_the_honeyscore_is_asked_only_when_shodan_has_seen_our_task():
    started = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    before, at = parse_banner({"timestamp": "2026-11-24T09:59:59"}), parse_banner({"timestamp": "2026-11-24T10:00:00"})
    assert before is not None and at is not None

    def host(*banners):
        return HostDocument(banners=banners, tags=frozenset(), org=None, last_update=None, excerpt={})

    assert has_our_banners(host(before, at), started) is True  # at the start counts as ours
    assert has_our_banners(host(before), started) is False
    assert has_our_banners(host(before), None) is True  # no start known: every banner counts
    assert has_our_banners(host(), None) is False
