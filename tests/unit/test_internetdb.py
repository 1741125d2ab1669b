"""Shodan InternetDB's answers read (internetdb.py): its document and its 404 into verdicts, every
other answer a typed error; focused cases, then properties over generated answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_honeynet.contracts import CheckResult, Verdict
from ics_honeynet.exposure import MAX_RESULT_BYTES, Target
from ics_honeynet.internetdb import (
    MAX_BODY_BYTES,
    InternetDbError,
    InternetDbHost,
    InternetDbRateLimitError,
    InternetDbResponseError,
    InternetDbUnavailableError,
    assess,
    opinion,
    read_answer,
)
from tests.unit.test_lookup_properties import hostile_text, json_scalars, json_values

IP = "198.51.100.23"
CHECKED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOT_FOUND = b'{"detail":"No information available"}'
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def document(**fields) -> bytes:
    base = {"cpes": [], "hostnames": [], "ip": IP, "ports": [102, 502], "tags": ["ics"], "vulns": []}
    return json.dumps({**base, **fields}).encode()


def test_its_404_is_not_indexed_and_only_its_404():
    assert read_answer(IP, 404, NOT_FOUND) is None
    assert opinion(None) == {"verdict": Verdict.NOT_INDEXED, "ports": [], "tags": []}
    # A 404 that is not InternetDB's answer about the IP (a proxy, a path error) is never "not indexed".
    for body in (b"<html>Not Found</html>", b'{"detail":"Not Found"}', b"", b"null"):
        with pytest.raises(InternetDbResponseError, match="404"):
            read_answer(IP, 404, body)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, InternetDbRateLimitError),
        (500, InternetDbUnavailableError),
        (502, InternetDbUnavailableError),
        (503, InternetDbUnavailableError),
        (504, InternetDbUnavailableError),
        (408, InternetDbUnavailableError),
        (400, InternetDbResponseError),
        (403, InternetDbResponseError),
        (422, InternetDbResponseError),
        (301, InternetDbResponseError),  # the client follows no redirect: not InternetDB's answer
        (204, InternetDbResponseError),
    ],
)
def test_each_status_is_its_typed_error(status, error):
    with pytest.raises(error):
        read_answer(IP, status, document())


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>maintenance</html>", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[" * 100_000, "not JSON"),  # nested past any parser's recursion
        (b"null", "not an object"),
        (b'["198.51.100.23"]', "not an object"),
        (document(ip="192.0.2.1"), "when asked about"),
        (json.dumps({"ports": [80]}).encode(), "when asked about"),
        (document(ports=None), "malformed ports"),
        (json.dumps({"ip": IP, "tags": ["honeypot"]}).encode(), "lacks ports"),
        (b" " * (MAX_BODY_BYTES + 1), "larger than"),
    ],
)
def test_a_200_that_is_not_its_document_is_a_response_error(body, why):
    with pytest.raises(InternetDbResponseError, match=why):
        read_answer(IP, 200, body)


def test_verdicts_from_its_document():
    assert read_answer(IP, 200, document()).verdict == Verdict.INDEXED
    assert read_answer(IP, 200, document(tags=["ics", " HoneyPot "])).verdict == Verdict.FINGERPRINTED
    # Tagged honeypot without a port is still tagged; hostnames alone are no service of ours.
    assert read_answer(IP, 200, document(ports=[], tags=["honeypot"])).verdict == Verdict.FINGERPRINTED
    assert read_answer(IP, 200, document(ports=[], tags=["cloud"], hostnames=["x.example"])).verdict == (
        Verdict.NOT_INDEXED
    )


def test_the_document_is_read_defensively_and_bounded():
    host = read_answer(
        IP,
        200,
        document(
            ports=[502, 502, -1, 70000, True, "80", 102, *range(1000, 1300)],
            tags=["ICS", 3, None, ""],
            hostnames=["a.example", 7, "x" * 5000],
            cpes="cpe:/a:not:a:list",
            vulns=[f"CVE-2026-{n:05}" for n in range(40)],
        ),
    )
    assert host.ports[:2] == (102, 502) and len(host.ports) == 100 and -1 not in host.ports
    assert host.tags == {"ics"} and host.cpes == ()
    assert host.hostnames[0] == "a.example" and len(host.hostnames[1].encode()) <= 128 + 3
    assert len(host.vulns) == 16 and host.vuln_count == 40


def test_an_ipv6_answer_names_the_same_address_in_any_spelling():
    ip = "2001:db8::1"
    body = json.dumps({"ip": "2001:0DB8:0:0:0:0:0:1", "ports": [502]}).encode()
    assert read_answer(ip, 200, body).ports == (502,)


def test_the_check_has_the_shape_of_shodans_api_check_and_carries_its_own_opinion():
    target = Target(IP, "arn:task", datetime(2026, 11, 23, tzinfo=UTC))
    check = assess(target, read_answer(IP, 200, document(tags=["honeypot"])), checked_at=CHECKED)
    assert list(check) == list(CheckResult.__annotations__)
    assert (check["verdict"], check["found"], check["engine"]) == ("FINGERPRINTED", True, "internetdb")
    assert check["internetDb"] == {"verdict": "FINGERPRINTED", "ports": [102, 502], "tags": ["honeypot"]}
    assert check["priorOwner"] is None and check["honeyscoreStatus"] == "NOT_ASKED"
    assert check["host"]["source"] == "internetdb" and check["tagSource"] == "host"
    quiet = assess(target, None, checked_at=CHECKED)
    assert (quiet["verdict"], quiet["found"], quiet["host"], quiet["tagSource"]) == ("NOT_INDEXED", False, None, None)


# -- properties (the generated JSON of the Shodan lookup's properties: as hostile as JSON allows) --
tag_words = st.sampled_from(["honeypot", "HONEYPOT", " Honeypot ", "ics", "cloud", "self-signed", "cdn"])


@st.composite
def documents(draw):
    """InternetDB-like documents: every field may be malformed, the IP may be someone else's."""
    fields = {
        "ip": draw(st.just(IP) | st.just("2001:db8::1") | json_scalars),
        "ports": draw(st.lists(st.integers(-5, 70000) | json_scalars, max_size=150) | json_scalars),
        "tags": draw(st.lists(tag_words | hostile_text | json_scalars, max_size=30) | json_scalars),
        "hostnames": draw(st.lists(hostile_text | json_scalars, max_size=20) | json_scalars),
        "cpes": draw(st.lists(hostile_text, max_size=30) | json_scalars),
        "vulns": draw(st.lists(hostile_text, max_size=60) | json_scalars),
        "extra": draw(json_values),
    }
    return {k: v for k, v in fields.items() if draw(st.booleans()) or k in ("ip", "ports")}


def check_bound(host: InternetDbHost | None) -> None:
    check = assess(Target(IP), host, checked_at=CHECKED)
    assert len(json.dumps(check).encode()) <= MAX_RESULT_BYTES
    assert check["verdict"] == check["internetDb"]["verdict"]


@SETTINGS
@given(status=st.integers(100, 599), body=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_answer_is_a_document_its_404_or_a_typed_error(status, body):
    try:
        host = read_answer(IP, status, body)
    except InternetDbError as error:
        assert str(error) and len(str(error)) < 400
        return
    assert status in (200, 404)
    check_bound(host)


@SETTINGS
@given(documents())
def test_any_document_reads_to_a_bounded_check_or_a_response_error(raw):
    try:
        host = read_answer(IP, 200, json.dumps(raw).encode())
    except InternetDbResponseError:
        assert raw.get("ip") != IP or not isinstance(raw.get("ports"), list)
        return
    assert raw["ip"] == IP and isinstance(raw["ports"], list)
    valid_ports = {p for p in raw["ports"] if isinstance(p, int) and not isinstance(p, bool) and 0 <= p <= 65535}
    assert set(host.ports) <= valid_ports and len(host.ports) == min(len(valid_ports), 100)
    assert list(host.ports) == sorted(host.ports)
    tags = raw.get("tags") if isinstance(raw.get("tags"), list) else []
    tagged = any(isinstance(t, str) and t.strip().lower() == "honeypot" for t in tags)
    expected = Verdict.FINGERPRINTED if tagged else Verdict.INDEXED if valid_ports else Verdict.NOT_INDEXED
    assert host.verdict == expected
    check_bound(host)
