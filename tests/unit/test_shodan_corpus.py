"""The lookup's verdicts on the corpus of realistic Shodan host documents (tests/fixtures/shodan)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ics_honeynet.exposure import HONEYSCORE_NOT_ASKED, Target, assess, validate_host

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "shodan"
STARTED = datetime(2026, 11, 23, 21, 40, tzinfo=UTC)
CHECKED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def judge(name: str) -> dict:
    document = json.loads((CORPUS / f"{name}.json").read_text())
    target = Target(document["ip_str"], "arn:task", STARTED)
    host = validate_host(document, target.ip)
    return assess(target, host, HONEYSCORE_NOT_ASKED, threshold=0.5, checked_at=CHECKED)


@pytest.mark.parametrize(
    ("name", "verdict", "ports", "tags", "prior"),
    [
        ("conpot_default_ours", "INDEXED", [80, 102, 161, 502, 44818, 47808], ["ics"], None),
        ("conpot_tagged_honeypot_on_our_banners", "FINGERPRINTED", [80, 102, 161, 502, 44818, 47808],
         ["honeypot", "ics"], None),
        ("prior_owner_tagged_ours_clean", "INDEXED", [502], ["ics"],
         {"banners": 2, "ports": [102, 502], "tags": ["honeypot", "ics"], "lastSeen": "2026-10-03T08:41:55.913410"}),
        ("ours_tagged_host_untagged", "FINGERPRINTED", [102], ["honeypot", "ics"],
         {"banners": 1, "ports": [102], "tags": ["ics"], "lastSeen": "2026-10-02T11:14:05.220031"}),
        ("recycled_https_prior_owner", "INDEXED", [502], ["ics"],
         {"banners": 12, "ports": [443, 3000, 4443, 5000, 6443, 7443, 8000, 8080, 8443, 8888, 9443, 10443],
          "tags": ["cloud", "self-signed"], "lastSeen": "2026-10-21T01:12:00.000011"}),
        ("history_several_banners_per_port", "INDEXED", [102, 502], ["ics"],
         {"banners": 4, "ports": [102, 502], "tags": ["honeypot", "ics"], "lastSeen": "2026-10-02T11:14:05.220031"}),
        ("ipv6_host", "INDEXED", [102, 161, 502], ["ics"], None),
        ("no_ports_field", "INDEXED", [102, 502], ["ics"], None),
        ("malformed_banner", "INDEXED", [102], ["ics"], None),
    ],
)  # fmt: skip
def test_each_document_gets_its_verdict_from_our_banners_and_their_tags(name, verdict, ports, tags, prior):
    result = judge(name)
    assert (result["verdict"], result["ports"], result["tags"], result["priorOwner"]) == (verdict, ports, tags, prior)
    assert result["tagSource"] == "banners"


def test_the_history_document_reports_our_newest_banner():
    assert judge("history_several_banners_per_port")["lastUpdate"] == "2026-11-25T07:00:00.000000"


def test_a_recycled_ip_with_a_dozen_https_banners_gives_a_small_reply():
    raw = (CORPUS / "recycled_https_prior_owner.json").read_text()
    reply = json.dumps(judge("recycled_https_prior_owner"))
    assert len(raw) > 400_000  # over Step Functions' 256 KB as Shodan sends it
    assert len(reply) < 16_000
    assert "BEGIN CERTIFICATE" not in reply and "iVBORw0KGgo" not in reply and "<table>" not in reply
