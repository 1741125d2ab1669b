"""Pure domain of shodan_lookup: input validation, verdicts, error mapping, evidence size."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from localcloud.functions import FUNCTIONS_DIR

sys.path.insert(0, str(FUNCTIONS_DIR / "shodan_lookup"))
from exposure import (
    MAX_BANNER_CHARS,
    InvalidInputError,
    ShodanAuthError,
    ShodanRateLimitError,
    ShodanResponseError,
    ShodanUnavailableError,
    Target,
    assess,
    classify_api_error,
    parse_honeyscore,
    parse_target,
    trim_evidence,
    validate_host,
)

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def host(**extra) -> dict:
    return {"ip_str": "198.51.100.7", "ports": [502, 102], "data": [{"port": 502, "data": "x"}], **extra}


def test_parse_target_normalises_and_validates():
    target = parse_target({"ip": " 198.51.100.7 ", "taskArn": "arn:t", "startedAt": "2026-11-24T10:00:00Z"})
    assert target == Target("198.51.100.7", "arn:t", datetime(2026, 11, 24, 10, tzinfo=UTC), None)
    assert parse_target({"ip": "2001:db8::1"}).ip == "2001:db8::1"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "must be a string"),
        ({"ip": 7}, "must be a string"),
        ({"ip": "198.51.100.300"}, "not an IP address"),
        ({"ip": "example.com"}, "not an IP address"),
        ({"ip": "198.51.100.7", "startedAt": "yesterday"}, "not an ISO 8601"),
        ([], "JSON object"),
    ],
)
def test_bad_input_is_a_clear_error(event, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_target(event)


@pytest.mark.parametrize(
    ("message", "status", "transport", "expected"),
    [
        ("No information available for that IP.", 404, None, None),
        (
            "Request rate limit reached (1 request/ second). Please wait a second before trying again and slow "
            "down your API calls.",
            429,
            None,
            ShodanRateLimitError,
        ),
        ("Invalid API key", 401, None, ShodanAuthError),
        ("Access denied (403 Forbidden)", 403, None, ShodanAuthError),
        ("Unable to connect to Shodan", None, "Shodan did not answer within 10 s", ShodanUnavailableError),
        ("Unable to connect to Shodan", None, None, ShodanUnavailableError),
        ("Bad Gateway (502)", 502, None, ShodanUnavailableError),
        ("Internal server error", 500, None, ShodanUnavailableError),
        ("Unable to parse JSON response", 503, None, ShodanUnavailableError),
        ("Unable to parse JSON response", 200, None, ShodanResponseError),
        ("Something odd", 400, None, ShodanResponseError),
    ],
)
def test_api_errors_map_to_typed_errors(message, status, transport, expected):
    error = classify_api_error(message, status, transport)
    if expected is None:
        assert error is None
    else:
        assert type(error) is expected


def test_timeout_message_names_the_timeout():
    error = classify_api_error("Unable to connect to Shodan", None, "Shodan did not answer within 10 s")
    assert str(error) == "Shodan did not answer within 10 s"


@pytest.mark.parametrize(
    ("bad", "message"),
    [("<html>", "a str, not an object"), ({"org": "x"}, "lacks ip_str, ports, data"), (host(ports="502"), "malformed")],
)
def test_a_host_answer_without_the_expected_fields_is_a_response_error(bad, message):
    with pytest.raises(ShodanResponseError, match=message):
        validate_host(bad, "198.51.100.7")


def test_honeyscore_parsing():
    assert parse_honeyscore(0.8) == 0.8 and parse_honeyscore(1) == 1.0
    assert parse_honeyscore(None) is None and parse_honeyscore("0.8") is None
    assert parse_honeyscore(True) is None and parse_honeyscore(1.5) is None


def test_not_indexed():
    result = assess(Target("198.51.100.7"), None, None, threshold=0.5, checked_at=NOW)
    assert result["found"] is False and result["verdict"] == "NOT_INDEXED"
    assert result["evidence"] is None and result["ports"] == [] and result["honeyscore"] is None


def test_indexed_with_a_low_honeyscore():
    result = assess(Target("198.51.100.7"), host(org="AWS"), 0.3, threshold=0.5, checked_at=NOW)
    assert (result["verdict"], result["ports"], result["org"], result["honeyscore"]) == (
        "INDEXED",
        [102, 502],
        "AWS",
        0.3,
    )
    assert result["evidence"]["ip_str"] == "198.51.100.7"


@pytest.mark.parametrize(("tags", "score"), [(["honeypot", "ics"], None), (["ics"], 0.5), (["ics"], 1.0)])
def test_fingerprinted_by_tag_or_honeyscore(tags, score):
    result = assess(Target("198.51.100.7"), host(tags=tags), score, threshold=0.5, checked_at=NOW)
    assert result["verdict"] == "FINGERPRINTED"


def test_evidence_is_bounded():
    huge = host(data=[{"port": p, "data": "A" * 100_000, "screenshot": {"data": "B" * 100_000}} for p in range(80)])
    evidence = trim_evidence(huge)
    assert len(json.dumps(evidence)) < 200_000
    assert len(evidence["data"]) == 50 and "80 banners" in evidence["_truncated"]
    assert evidence["data"][0]["data"].startswith("A" * MAX_BANNER_CHARS)
    assert "screenshot" not in evidence["data"][0]


STARTED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def banner(port: int, when: str) -> dict:
    return {"port": port, "timestamp": when, "data": "x"}


def test_banners_older_than_the_task_belong_to_the_prior_owner():
    stale = host(
        tags=["honeypot"], data=[banner(502, "2026-11-21T08:00:00.000000"), banner(102, "2026-11-20T08:00:00")]
    )
    result = assess(Target("198.51.100.7", started_at=STARTED), stale, None, threshold=0.5, checked_at=NOW)
    assert result["found"] is False and result["verdict"] == "NOT_INDEXED" and result["evidence"] is None
    assert result["priorOwner"] == {
        "banners": 2,
        "ports": [102, 502],
        "tags": ["honeypot"],  # host-level tags go to the prior owner when no banner is ours
        "lastSeen": "2026-11-21T08:00:00.000000",
    }


def test_once_a_banner_is_ours_the_verdict_counts_only_our_ports_and_keeps_the_host_tags():
    mixed = host(
        tags=["honeypot"],
        data=[banner(502, "2026-11-24T12:00:00.000000"), banner(21, "2026-11-01T00:00:00.000000")],
    )
    result = assess(Target("198.51.100.7", started_at=STARTED), mixed, None, threshold=0.5, checked_at=NOW)
    assert result["verdict"] == "FINGERPRINTED" and result["ports"] == [502]
    assert result["lastUpdate"] == "2026-11-24T12:00:00.000000"  # at startedAt counts as ours
    assert result["priorOwner"]["banners"] == 1 and result["priorOwner"]["tags"] == []


def test_shodan_naive_timestamps_are_utc_against_an_aware_start():
    berlin_start = datetime.fromisoformat("2026-11-24T13:00:00+01:00")  # = 12:00 UTC
    ours = host(data=[banner(502, "2026-11-24T12:30:00")])
    result = assess(Target("198.51.100.7", started_at=berlin_start), ours, None, threshold=0.5, checked_at=NOW)
    assert result["verdict"] == "INDEXED"
