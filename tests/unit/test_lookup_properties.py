"""Property-based tests of the lookup's domain over generated Shodan host documents and error
answers: only typed errors, never more than its bound, and a verdict that depends only on our
banners (timestamp at or after startedAt) and the tags attributed to them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ics_honeynet.exposure import (
    HONEYSCORE_NOT_ASKED,
    MAX_EVENT_TEXT,
    MAX_RESULT_BYTES,
    Honeyscore,
    ShodanLookupError,
    ShodanResponseError,
    Target,
    assess,
    classify_api_error,
    validate_host,
)

STARTED = datetime(2026, 11, 23, 21, 40, tzinfo=UTC)
CHECKED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
IP = "2001:db8:4006:812::200e"
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as hostile as JSON allows: control characters, astral characters, lone surrogates.
hostile_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=300)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)
stamps = st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2026, 12, 31))
tag_words = st.sampled_from(["honeypot", "HONEYPOT", " Honeypot ", "ics", "ICS", "cloud", "self-signed"])


@st.composite
def banners(draw):
    banner = {
        "port": draw(st.integers(0, 65535) | json_scalars),
        "timestamp": draw(stamps.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")) | json_scalars),
        "data": draw(hostile_text | hostile_text.map(lambda t: t * 50)),
        "transport": draw(st.sampled_from(["tcp", "udp"]) | json_scalars),
        "_shodan": {"module": draw(st.sampled_from(["http", "https", "s7", "modbus", "bacnet", "snmp"]) | json_values)},
    }
    if draw(st.booleans()):
        banner["tags"] = draw(st.lists(tag_words | hostile_text, max_size=30) | json_scalars)
    if draw(st.booleans()):
        banner["http"] = {"html": draw(hostile_text), "favicon": {"data": draw(hostile_text)}, "x": draw(json_values)}
    if draw(st.booleans()):
        banner["ssl"] = {"chain": draw(st.lists(hostile_text, max_size=3)), "cert": draw(json_values)}
    return banner


@st.composite
def host_documents(draw):
    document = {"ip_str": IP, "data": draw(st.lists(banners() | json_values, max_size=14))}
    for name, values in (
        ("ports", st.lists(st.integers(0, 65535) | json_scalars, max_size=20) | json_scalars),
        ("tags", st.lists(tag_words | hostile_text, max_size=20) | json_scalars),
        ("org", hostile_text | json_scalars),
        ("hostnames", st.lists(hostile_text, max_size=12) | json_scalars),
        ("last_update", hostile_text | json_scalars),
        ("extra", json_values),
    ):
        if draw(st.booleans()):
            document[name] = draw(values)
    return document


honeyscores = st.builds(
    Honeyscore,
    st.sampled_from(["SCORED", "NO_SCORE", "UNAVAILABLE", "NOT_ASKED"]),
    st.none() | st.floats(0.0, 1.0),
    st.none() | hostile_text.map(lambda t: t[:200]),
)


def judge(document, honeyscore=HONEYSCORE_NOT_ASKED) -> dict:
    target = Target(IP, "a" * MAX_EVENT_TEXT, STARTED)  # the longest event we accept
    return assess(target, validate_host(document, IP), honeyscore, threshold=0.5, checked_at=CHECKED)


# -- an independent reading of the rules, one banner at a time ------------------------------------
def ours(banner) -> bool:
    stamp = banner.get("timestamp")
    try:
        seen = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return True  # undated: cannot be proved a prior owner's
    return seen >= STARTED


def tag_set(value) -> set[str]:
    return {t.strip().lower() for t in value if isinstance(t, str) and t.strip()} if isinstance(value, list) else set()


def expected_verdict(document, honeyscore: Honeyscore) -> str:
    banners_ = [b for b in document["data"] if isinstance(b, dict)]
    mine = [b for b in banners_ if ours(b)]
    if not mine:
        return "NOT_INDEXED"
    if any(tag_set(b.get("tags")) for b in banners_):
        honeypot = any("honeypot" in tag_set(b.get("tags")) for b in mine)
    else:
        honeypot = "honeypot" in tag_set(document.get("tags"))
    high = honeyscore.status == "SCORED" and honeyscore.value is not None and honeyscore.value >= 0.5
    return "FINGERPRINTED" if honeypot or high else "INDEXED"


@SETTINGS
@given(host_documents(), honeyscores)
def test_any_host_document_gets_a_bounded_verdict_from_our_banners_only(document, honeyscore):
    result = judge(document, honeyscore)
    assert len(json.dumps(result)) <= MAX_RESULT_BYTES
    assert result["verdict"] == expected_verdict(document, honeyscore)
    mine = [b for b in document["data"] if isinstance(b, dict) and ours(b)]
    valid_ports = {b["port"] for b in mine if type(b.get("port")) is int and 0 <= b["port"] <= 65535}
    assert set(result["ports"]) == valid_ports or len(result["ports"]) == 100


@SETTINGS
@given(host_documents(), st.lists(banners(), min_size=1, max_size=5), st.lists(tag_words, max_size=3))
def test_a_prior_owners_banners_never_change_our_verdict(document, extra, tags):
    """Once our banners carry tags, banners dated before the task (whatever their tags, ports and
    bulk) change neither the verdict, nor our ports and tags."""
    document["data"] = [*document["data"], {"port": 502, "timestamp": "2026-11-24T00:00:00", "tags": ["ics"]}]
    before = judge(document)
    for banner in extra:
        banner["timestamp"] = (STARTED - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        banner["tags"] = ["honeypot", *tags]
    after = judge({**document, "data": [*document["data"], *extra]})
    assert (after["verdict"], after["ports"], after["tags"]) == (before["verdict"], before["ports"], before["tags"])


@SETTINGS
@given(json_values)
def test_any_answer_is_a_host_or_a_response_error(answer):
    try:
        host = validate_host(answer, IP)
    except ShodanResponseError:
        return
    assert isinstance(answer, dict) and isinstance(answer.get("data"), list)
    assert len(json.dumps(host.excerpt)) <= MAX_RESULT_BYTES


@SETTINGS
@given(hostile_text, st.none() | st.integers(100, 599), st.none() | hostile_text)
def test_any_error_answer_is_typed_or_not_indexed(message, status, transport):
    error = classify_api_error(message, status, transport)
    assert error is None or isinstance(error, ShodanLookupError)
    if error is None:
        assert message == "No information available for that IP." or status == 404
    else:
        assert len(str(error)) <= 400 + len(transport or "")


def test_the_worst_case_reply_is_measured_within_the_bound():
    """Every field Shodan controls at its largest: each string of escaped astral characters (12
    bytes each in JSON), more banners, ports, tags and hostnames than any cap."""
    astral = "\U0001f600" * 5_000
    banner = {
        "port": 0, "timestamp": astral, "data": astral, "transport": astral, "product": astral, "version": astral,
        "_shodan": {"module": astral}, "tags": [f"{i}{astral}" for i in range(40)],
        "http": {"html": astral}, "ssl": {"chain": [astral] * 5},
    }  # fmt: skip
    document = {
        **{name: astral for name in ("ip_str", "org", "isp", "asn", "os", "last_update", "country_code", "city")},
        "hostnames": [astral] * 40,
        "ports": list(range(65536)),
        "tags": [f"{i}{astral}" for i in range(40)],
        "data": [
            *({**banner, "port": port} for port in range(300)),  # undated: ours
            *({**banner, "port": port, "timestamp": "2026-11-01T00:00:00"} for port in range(300, 600)),  # prior
        ],
    }
    worst = judge(document, Honeyscore("UNAVAILABLE", None, astral))
    size = len(json.dumps(worst))
    assert len(worst["ports"]) == 100 and len(worst["priorOwner"]["ports"]) == 100 and len(worst["tags"]) == 16
    assert 20_000 < size <= MAX_RESULT_BYTES == 32_768
