"""Pure domain of shodan_lookup: input validation, verdicts, error mapping, evidence size."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ics_honeynet.contracts import HoneyscoreStatus
from ics_honeynet.exposure import (
    HONEYSCORE_NOT_ASKED,
    MAX_EXCERPT_BANNERS,
    Honeyscore,
    InvalidInputError,
    ShodanAuthError,
    ShodanRateLimitError,
    ShodanResponseError,
    ShodanUnavailableError,
    Target,
    assess,
    classify_api_error,
    clip,
    honeyscore_failed,
    parse_honeyscore,
    parse_target,
    validate_host,
)

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


NO_SCORE, SCORED, UNAVAILABLE = HoneyscoreStatus.NO_SCORE, HoneyscoreStatus.SCORED, HoneyscoreStatus.UNAVAILABLE


def raw_host(**extra) -> dict:
    return {"ip_str": "198.51.100.7", "ports": [502, 102], "data": [{"port": 502}, {"port": 102}], **extra}


def host(**extra):
    return validate_host(raw_host(**extra), "198.51.100.7")


def score(value: float) -> Honeyscore:
    return Honeyscore(SCORED, value)


def test_parse_target_normalises_and_validates():
    target = parse_target({"ip": " 198.51.100.7 ", "taskArn": "arn:t", "startedAt": "2026-11-24T10:00:00Z"})
    assert target == Target("198.51.100.7", "arn:t", datetime(2026, 11, 24, 10, tzinfo=UTC))
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
        # Shodan's 200 {"error": "Request timed out..."}: busy, retried, not a malformed answer.
        ("Request timed out. Please try again in a few seconds.", 200, None, ShodanUnavailableError),
        ("Unable to calculate honeyscore for that IP.", 200, None, ShodanResponseError),
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
    [
        ("<html>", "a str, not an object"),
        ({"org": "x"}, "lacks data"),
        (raw_host(data={"port": 502}), "malformed data"),
        (None, "empty body"),
        ({}, "empty body"),
        ([], "a list, not an object"),
    ],
)
def test_a_host_answer_without_banners_is_a_response_error(bad, message):
    with pytest.raises(ShodanResponseError, match=message):
        validate_host(bad, "198.51.100.7")


def test_a_host_without_ports_takes_them_from_its_banners():
    no_ports = {k: v for k, v in raw_host().items() if k != "ports"}
    result = assess(
        Target("198.51.100.7"), validate_host(no_ports, "198.51.100.7"), score(0.1), threshold=0.5, checked_at=NOW
    )
    assert (result["verdict"], result["ports"]) == ("INDEXED", [102, 502])


def test_honeyscore_parsing():
    assert parse_honeyscore(0.8) == Honeyscore(SCORED, 0.8) and parse_honeyscore(1) == Honeyscore(SCORED, 1.0)
    for odd in (None, "0.8", True, 1.5, -0.1, {"error": "x"}):
        assert parse_honeyscore(odd).status == NO_SCORE and parse_honeyscore(odd).value is None


def test_a_failed_honeyscore_is_unavailable_or_none_never_a_score():
    assert honeyscore_failed(ShodanRateLimitError("slow down")) == Honeyscore(
        UNAVAILABLE, reason="ShodanRateLimitError: slow down"
    )
    assert honeyscore_failed(ShodanUnavailableError("HTTP 503")).status == UNAVAILABLE
    assert honeyscore_failed(ShodanResponseError("Unable to calculate honeyscore")).status == NO_SCORE
    assert honeyscore_failed(ShodanAuthError("Access denied")).status == NO_SCORE


def test_not_indexed():
    result = assess(Target("198.51.100.7"), None, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=NOW)
    assert result["found"] is False and result["verdict"] == "NOT_INDEXED"
    assert result["host"] is None and result["ports"] == [] and result["honeyscore"] is None
    assert result["honeyscoreStatus"] == "NOT_ASKED"


def test_indexed_with_a_low_honeyscore():
    result = assess(Target("198.51.100.7"), host(org="AWS"), score(0.3), threshold=0.5, checked_at=NOW)
    assert (result["verdict"], result["ports"], result["org"], result["honeyscore"]) == (
        "INDEXED",
        [102, 502],
        "AWS",
        0.3,
    )
    assert result["honeyscoreStatus"] == "SCORED" and result["honeyscoreError"] is None
    assert result["host"]["ip_str"] == "198.51.100.7"


def test_an_unavailable_honeyscore_is_reported_as_such_not_as_a_low_score():
    unknown = honeyscore_failed(ShodanRateLimitError("Request rate limit reached"))
    result = assess(Target("198.51.100.7"), host(), unknown, threshold=0.5, checked_at=NOW)
    assert (result["verdict"], result["honeyscore"], result["honeyscoreStatus"]) == ("INDEXED", None, "UNAVAILABLE")
    assert result["honeyscoreError"] == "ShodanRateLimitError: Request rate limit reached"


@pytest.mark.parametrize(
    ("tags", "value"), [(["honeypot", "ics"], None), (["HoneyPot "], None), (["ics"], 0.5), (["ics"], 1.0)]
)
def test_fingerprinted_by_tag_or_honeyscore(tags, value):
    honeyscore = HONEYSCORE_NOT_ASKED if value is None else score(value)
    result = assess(Target("198.51.100.7"), host(tags=tags), honeyscore, threshold=0.5, checked_at=NOW)
    assert result["verdict"] == "FINGERPRINTED"


def test_evidence_is_a_bounded_whitelist():
    bulky = {
        "http": {"html": "H" * 100_000, "favicon": {"data": "F" * 50_000}, "components": {"x": {"categories": []}}},
        "ssl": {"chain": ["-----BEGIN CERTIFICATE-----" + "C" * 5_000] * 5, "cert": {"serial": 1}},
        "screenshot": {"data": "B" * 100_000},
    }
    huge = host(data=[{"port": p, "data": "A" * 100_000, "timestamp": f"2026-11-24T{p % 24:02d}:00:00", **bulky}
                      for p in range(80)])  # fmt: skip
    evidence = huge.excerpt
    assert len(json.dumps(evidence)) < 16_000
    assert len(evidence["data"]) == MAX_EXCERPT_BANNERS and evidence["_truncated"] == "80 banners, the newest 10 kept"
    assert evidence["banners"] == 80 and evidence["data"][0]["timestamp"] == "2026-11-24T23:00:00"
    assert evidence["data"][0]["data"] == "A" * 1018 + "\u2026"
    assert not {"http", "ssl", "screenshot"} & set(evidence["data"][0])


def test_clip_bounds_the_json_size_of_any_text():
    assert clip("short") == "short" and clip(7) is None
    for text in ("a" * 1000, "\x00" * 1000, "\U0001f600" * 1000, "\ud800" * 1000):
        clipped = clip(text, 128)
        assert len(json.dumps(clipped)) - 2 <= 128 and clipped.endswith("\u2026")


STARTED = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def banner(port: int, when: str, **extra) -> dict:
    return {"port": port, "timestamp": when, "data": "x", **extra}


def test_banners_older_than_the_task_belong_to_the_prior_owner():
    stale = host(
        tags=["honeypot"], data=[banner(502, "2026-11-21T08:00:00.000000"), banner(102, "2026-11-20T08:00:00")]
    )
    result = assess(
        Target("198.51.100.7", started_at=STARTED), stale, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=NOW
    )
    assert result["found"] is False and result["verdict"] == "NOT_INDEXED"
    # What Shodan holds is the prior owner's; it is kept (bounded) as the IP's evidence.
    assert result["host"]["banners"] == 2 and result["tagSource"] is None
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
    result = assess(
        Target("198.51.100.7", started_at=STARTED), mixed, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=NOW
    )
    assert result["verdict"] == "FINGERPRINTED" and result["ports"] == [502]
    assert result["lastUpdate"] == "2026-11-24T12:00:00.000000"  # at startedAt counts as ours
    assert result["priorOwner"]["banners"] == 1 and result["priorOwner"]["tags"] == []


def test_shodan_naive_timestamps_are_utc_against_an_aware_start():
    berlin_start = datetime.fromisoformat("2026-11-24T13:00:00+01:00")  # = 12:00 UTC
    ours = host(data=[banner(502, "2026-11-24T12:30:00")])
    result = assess(
        Target("198.51.100.7", started_at=berlin_start), ours, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=NOW
    )
    assert result["verdict"] == "INDEXED"


def judge(raw: dict, honeyscore: Honeyscore = HONEYSCORE_NOT_ASKED) -> dict:
    return assess(
        Target("198.51.100.7", started_at=STARTED),
        validate_host(raw, "198.51.100.7"),
        honeyscore,
        threshold=0.5,
        checked_at=NOW,
    )


def test_a_prior_owners_tagged_banner_does_not_fingerprint_our_clean_one():
    raw = raw_host(
        tags=["honeypot", "ics"],
        data=[
            banner(502, "2026-11-24T13:00:00", tags=["ics"]),
            banner(102, "2026-11-20T08:00:00", tags=["honeypot", "ics"]),
        ],
    )
    result = judge(raw)
    assert (result["verdict"], result["tags"], result["tagSource"]) == ("INDEXED", ["ics"], "banners")
    assert result["priorOwner"] == {
        "banners": 1,
        "ports": [102],
        "tags": ["honeypot", "ics"],
        "lastSeen": "2026-11-20T08:00:00",
    }


def test_our_own_tagged_banner_fingerprints_us_even_without_a_host_level_tag():
    raw = raw_host(
        data=[banner(502, "2026-11-24T13:00:00", tags=["ICS", " HoneyPot"]), banner(102, "2026-11-20T08:00:00")]
    )
    result = judge(raw)
    assert (result["verdict"], result["tags"], result["tagSource"]) == ("FINGERPRINTED", ["honeypot", "ics"], "banners")
    assert result["priorOwner"]["tags"] == []


def test_without_banner_tags_the_host_tags_are_read_as_before():
    raw = raw_host(tags=["Honeypot"], data=[banner(502, "2026-11-24T13:00:00"), banner(102, "2026-11-20T08:00:00")])
    result = judge(raw)
    assert (result["verdict"], result["tags"], result["tagSource"]) == ("FINGERPRINTED", ["honeypot"], "host")


def test_malformed_banner_parts_are_ignored_not_raised():
    raw = raw_host(
        data=[
            banner("502", "2026-11-24T13:00:00"),  # port as text
            banner(102, "2026-11-24T13:00:00", tags="honeypot"),  # tags not a list
            banner(True, 1_732_000_000),  # neither a port nor a timestamp
            banner(70_000, "0001-01-01T00:00:00+01:00"),  # out of range, both
            {"port": 21, "timestamp": "2026-11-24T14:00:00", "tags": [None, 7, "ics"]},
            "not a banner",
            None,
        ]
    )
    result = judge(raw)
    assert (result["verdict"], result["ports"], result["tags"]) == ("INDEXED", [21, 102], ["ics"])
    assert result["lastUpdate"] == "2026-11-24T14:00:00"
