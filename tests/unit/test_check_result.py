"""One IP's check as the lookup returns it (exposure.py), compared whole: the evidence excerpt of a
host document, the verdict with everything around it, the event it is asked with, the bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ics_honeynet.exposure import (
    CLIPPED,
    HONEYSCORE_NOT_ASKED,
    Honeyscore,
    HostDocument,
    InvalidInputError,
    ShodanResponseError,
    Target,
    assess,
    attribute_tags,
    clip,
    evidence_excerpt,
    parse_banner,
    parse_target,
    validate_host,
)

IP = "192.0.2.1"
STARTED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CHECKED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
OURS = {"port": 502, "timestamp": "2026-11-25T07:00:00.000000", "_shodan": {"module": "s7", "crawler": "c1"},
        "transport": "tcp", "product": "Siemens S7", "version": None, "tags": ["ICS", "  "], "data": "x" * 2000,
        "http": {"html": "<html>" * 100}}  # fmt: skip
PRIOR = {"port": "102/tcp", "timestamp": "2026-10-01T00:00:00.000000", "_shodan": "not an object", "tags": ["Honeypot"]}
HOST = {"ip_str": IP, "org": "Amazon", "isp": "Amazon.com", "asn": "AS16509", "os": None, "country_code": "US",
        "city": "Ashburn", "last_update": "2026-11-25T07:30:00.000000", "hostnames": ["ec2.example", 5],
        "ports": [502, 102, 502, "x", 70000, True, -1], "tags": ["ICS", 3], "screenshot": {"data": "iVBOR" * 100},
        "data": [PRIOR, OURS, "not a banner"]}  # fmt: skip
OURS_EXCERPT = {"port": 502, "timestamp": "2026-11-25T07:00:00.000000", "module": "s7", "transport": "tcp",
                "product": "Siemens S7", "tags": ["ics"], "data": "x" * 1018 + CLIPPED}  # fmt: skip
EXCERPT = {"ip_str": IP, "org": "Amazon", "isp": "Amazon.com", "asn": "AS16509", "last_update": HOST["last_update"],
           "country_code": "US", "city": "Ashburn", "hostnames": ["ec2.example"], "ports": [102, 502],
           "tags": ["ics"], "banners": 3,
           "data": [OURS_EXCERPT, {"timestamp": "2026-10-01T00:00:00.000000", "tags": ["honeypot"]}]}  # fmt: skip


def test_the_excerpt_keeps_a_whitelist_of_the_host_and_its_newest_banners():
    assert evidence_excerpt(HOST) == EXCERPT
    assert evidence_excerpt({}) == {"hostnames": [], "ports": [], "tags": [], "banners": 0, "data": []}


def test_the_excerpt_keeps_the_newest_ten_banners_and_says_how_many_there_were():
    banners = [{"port": 502, "timestamp": f"2026-11-{day:02d}T00:00:00.000000"} for day in range(1, 13)]
    excerpt = evidence_excerpt({"data": banners})
    assert [b["timestamp"][:10] for b in excerpt["data"]] == [f"2026-11-{day:02d}" for day in range(12, 2, -1)]
    assert excerpt["_truncated"] == "12 banners, the newest 10 kept" and excerpt["banners"] == 12
    assert "_truncated" not in evidence_excerpt({"data": banners[:10]})
    assert len(evidence_excerpt({"hostnames": [f"h{n}" for n in range(20)]})["hostnames"]) == 8


def test_a_host_document_is_read_into_banners_tags_and_the_excerpt():
    host = validate_host(HOST, IP)
    assert [(b.port, b.timestamp, sorted(b.tags), b.tagged) for b in host.banners] == [
        (None, "2026-10-01T00:00:00.000000", ["honeypot"], True),
        (502, "2026-11-25T07:00:00.000000", ["ics"], True),
    ]
    assert (host.tags, host.org, host.last_update, host.excerpt) == (frozenset({"ics"}), "Amazon", HOST["last_update"],
                                                                     EXCERPT)  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "Shodan answered an empty body for 192.0.2.1 (not its 'no information' answer)"),
        ("", "Shodan answered an empty body for 192.0.2.1 (not its 'no information' answer)"),
        ({}, "Shodan answered an empty body for 192.0.2.1 (not its 'no information' answer)"),
        ([], "Shodan's host answer for 192.0.2.1 is a list, not an object"),
        ("<html>", "Shodan's host answer for 192.0.2.1 is a str, not an object"),
        ({"ip_str": IP}, "Shodan's host answer for 192.0.2.1 lacks data (its banners)"),
        ({"data": {"port": 502}}, "Shodan's host answer for 192.0.2.1 has malformed data (its banners)"),
    ],
)
def test_what_is_not_a_host_document_is_an_error(answer, message):
    with pytest.raises(ShodanResponseError) as refused:
        validate_host(answer, IP)
    assert str(refused.value) == message


def test_our_banners_make_the_verdict_and_the_prior_owners_are_summarised():
    target = Target(IP, "arn:task/a", STARTED)
    scored = Honeyscore("SCORED", 0.3, reason="x" * 300)
    check = assess(target, validate_host(HOST, IP), scored, threshold=0.5, checked_at=CHECKED)
    assert check == {
        "ip": IP, "verdict": "INDEXED", "found": True, "taskArn": "arn:task/a",
        "startedAt": "2026-11-24T10:00:00+00:00", "checkedAt": "2026-11-25T12:00:00+00:00", "ports": [502],
        "tags": ["ics"], "tagSource": "banners", "honeyscore": 0.3, "honeyscoreStatus": "SCORED",
        "honeyscoreError": "x" * 194 + CLIPPED, "lastUpdate": "2026-11-25T07:00:00.000000", "org": "Amazon",
        "priorOwner": {"banners": 1, "ports": [], "tags": ["honeypot"], "lastSeen": "2026-10-01T00:00:00.000000"},
        "host": EXCERPT, "engine": "api", "internetDb": None,
    }  # fmt: skip
    at_threshold = assess(target, validate_host(HOST, IP), Honeyscore("SCORED", 0.5), threshold=0.5, checked_at=CHECKED)
    assert at_threshold["verdict"] == "FINGERPRINTED"


def test_a_prior_owners_banners_alone_are_not_indexed_and_no_honeyscore_is_reported():
    target = Target(IP, None, STARTED)
    prior_only = validate_host(HOST | {"data": [PRIOR]}, IP)
    check = assess(target, prior_only, Honeyscore("SCORED", 1.0, reason="r"), threshold=0.5, checked_at=CHECKED)
    assert check == {
        "ip": IP, "verdict": "NOT_INDEXED", "found": False, "taskArn": None, "startedAt": "2026-11-24T10:00:00+00:00",
        "checkedAt": "2026-11-25T12:00:00+00:00", "ports": [], "tags": [], "tagSource": None, "honeyscore": None,
        "honeyscoreStatus": "NOT_ASKED", "honeyscoreError": None, "lastUpdate": None, "org": None,
        "priorOwner": {"banners": 1, "ports": [], "tags": ["honeypot"], "lastSeen": "2026-10-01T00:00:00.000000"},
        "host": evidence_excerpt(HOST | {"data": [PRIOR]}), "engine": "api", "internetDb": None,
    }  # fmt: skip
    nothing = assess(Target(IP), None, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=CHECKED)
    assert nothing == {
        "ip": IP, "verdict": "NOT_INDEXED", "found": False, "taskArn": None, "startedAt": None,
        "checkedAt": "2026-11-25T12:00:00+00:00", "ports": [], "tags": [], "tagSource": None, "honeyscore": None,
        "honeyscoreStatus": "NOT_ASKED", "honeyscoreError": None, "lastUpdate": None, "org": None,
        "priorOwner": None, "host": None, "engine": "api", "internetDb": None,
    }  # fmt: skip


def test_host_tags_belong_to_the_prior_owner_only_while_every_banner_predates_us():
    untagged_prior = {"port": 102, "timestamp": "2026-10-01T00:00:00.000000"}
    host = validate_host({"data": [untagged_prior], "tags": ["honeypot"]}, IP)
    check = assess(Target(IP, None, STARTED), host, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=CHECKED)
    assert check["priorOwner"] == {"banners": 1, "ports": [102], "tags": ["honeypot"],
                                   "lastSeen": "2026-10-01T00:00:00.000000"}  # fmt: skip
    # Without the task's start every banner is ours, and so are the host's tags.
    anyone = assess(Target(IP), host, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=CHECKED)
    assert (anyone["verdict"], anyone["tags"], anyone["tagSource"]) == ("FINGERPRINTED", ["honeypot"], "host")


def test_the_event_names_an_ip_and_may_name_the_task_and_its_start():
    assert parse_target({"ip": " 2001:DB8::1 ", "taskArn": "arn:task/a", "startedAt": "2026-11-24T10:00:00Z"}) == (
        Target("2001:db8::1", "arn:task/a", STARTED)
    )
    assert parse_target({"ip": IP, "startedAt": ""}) == Target(IP)
    assert parse_target({"ip": IP, "taskArn": "a" * 1024}).task_arn == "a" * 1024
    for event, message in [
        ("192.0.2.1", "the event must be a JSON object with an 'ip'"),
        ({}, "the event's 'ip' must be a string, not NoneType"),
        ({"ip": 3232235777}, "the event's 'ip' must be a string, not int"),
        ({"ip": "x" * 100}, f"not an IP address: {'x' * 64!r}"),
        ({"ip": IP, "startedAt": "yesterday"}, "startedAt is not an ISO 8601 timestamp: 'yesterday'"),
        ({"ip": IP, "taskArn": 5}, "the event's 'taskArn' must be a string of at most 1024 characters"),
        ({"ip": IP, "taskArn": "a" * 1025}, "the event's 'taskArn' must be a string of at most 1024 characters"),
    ]:
        with pytest.raises(InvalidInputError) as refused:
            parse_target(event)
        assert str(refused.value) == message


@pytest.mark.parametrize(
    ("value", "limit", "clipped"),
    [
        ("abc", 3, "abc"),
        ("abcdefghij", 8, "ab" + CLIPPED),  # the escaped ellipsis takes 6 bytes of the 8
        ("x" * 10, 10, "x" * 10),
        ("x" * 11, 10, "xxxx" + CLIPPED),
        ('"' * 5, 10, '"' * 5),  # each quote is escaped: 2 bytes
        ('"' * 6, 10, '"' * 2 + CLIPPED),
        ("\u00e9" * 2, 12, "\u00e9" * 2),  # escaped as \u00e9: 6 bytes each
        ("\u00e9" * 3, 12, "\u00e9" + CLIPPED),
        ('"' * 5 + "x", 10, '"' * 2 + CLIPPED),  # 6 characters, 11 bytes encoded: one too many
        (5, 10, None),
        (None, 10, None),
    ],
)
def test_a_clipped_string_fits_its_bound_encoded(value, limit, clipped):
    assert clip(value, limit) == clipped
    if clipped is not None:
        assert len(json.dumps(clipped)) - 2 <= limit


def test_each_field_has_its_own_bound():
    long_time, long_module = "2026-11-25T07:00:00.000000" + "9" * 50, "m" * 50
    banner = {"port": 65535, "timestamp": long_time, "_shodan": {"module": long_module}}
    excerpt = evidence_excerpt({"last_update": long_time, "data": [banner, {"port": 65536}]})
    clipped_time = long_time[:34] + CLIPPED  # timestamps: 40 bytes
    # Newest first by the timestamp's text: an undated banner ("None") sorts before a dated one.
    assert excerpt["data"] == [{}, {"port": 65535, "timestamp": clipped_time, "module": "m" * 26 + CLIPPED}]
    assert excerpt["last_update"] == long_time  # the excerpt's host fields: 128 bytes
    host = validate_host({"last_update": long_time, "data": [banner]}, IP)
    assert host.last_update == clipped_time and host.banners[0].timestamp == clipped_time
    assert parse_banner({"timestamp": long_time}).timestamp == clipped_time  # type: ignore[union-attr]
    assert [parse_banner({"port": p}).port for p in (0, 65535, 65536, -1)] == [0, 65535, None, None]  # type: ignore[union-attr]


def test_without_banners_a_hosts_tags_are_nobodys():
    bare = HostDocument(banners=(), tags=frozenset({"honeypot"}), org=None, last_update=None, excerpt={})
    assert attribute_tags(bare, [], []) == (frozenset(), frozenset(), "host")
