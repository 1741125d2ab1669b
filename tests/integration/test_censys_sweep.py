"""Censys in the sweep, through the real template, ASL, handlers and HTTP: its opinion beside
Shodan's verdict in the record, the history and the email; off without a token; its budget, its
rate limits and its failures never touch Shodan's verdict nor fail the sweep."""

from __future__ import annotations

from pathlib import Path

from localcloud.cloud import LocalCloud
from tests.integration.test_internetdb_sweep import history, record, slots

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CENSYS = SCENARIOS / "censys.yaml"


def censys_errors(run) -> list[str]:
    """The errors the sweep's Lambda tasks failed with (the execution history keeps them)."""
    return [e["taskFailedEventDetails"]["error"] for e in run.history if e["type"] == "TaskFailed"]


def test_with_a_token_both_verdicts_are_recorded_kept_and_emailed():
    with LocalCloud(scenario_path=CENSYS) as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        evidence = cloud.evidence(f"evidence/{ip['indexed-and-in-censys']}/{run.name}.json")
        histories = {name: history(cloud, address) for name, address in ip.items()}
        asked = {name: len(cloud.censys.requests(address)) for name, address in ip.items()}
        second, quiet = cloud.sweep()
    assert run.status == "SUCCEEDED"
    both = {name: (results[a]["verdict"], results[a]["censys"]["verdict"]) for name, a in ip.items()}
    assert both == {
        "quiet": ("NOT_INDEXED", "NOT_INDEXED"),
        "indexed-and-in-censys": ("INDEXED", "INDEXED"),
        "censys-calls-it-a-honeypot": ("NOT_INDEXED", "FINGERPRINTED"),
    }
    assert asked == {name: 1 for name in ip}  # one Censys request per IP, its token accepted
    # The evidence of an exposed IP holds Censys's whole opinion beside Shodan's check.
    assert evidence["verdict"] == "INDEXED"
    assert evidence["censys"] == {"verdict": "INDEXED", "ports": [102, 502], "protocols": ["MODBUS", "S7"], "tags": []}
    assert {name: h["lastCensysVerdict"] for name, h in histories.items()} == {n: c for n, (_s, c) in both.items()}
    assert "censysFirstIndexed" in histories["indexed-and-in-censys"]
    assert "censysFirstIndexed" not in histories["quiet"]
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly on Shodan, 2 newly in Censys"
    body = email["body"]
    assert "    Censys:     INDEXED (ports 102, 502; protocols MODBUS, S7)\n" in body
    # Not on Shodan: the Map keeps Censys's verdict only (no evidence object to hold the rest).
    assert f"- {ip['censys-calls-it-a-honeypot']}  Censys: FINGERPRINTED  (Shodan: NOT_INDEXED)\n" in body
    assert second.status == "SUCCEEDED" and quiet.emails == []  # once per tenure, not every sweep


def test_without_a_token_nothing_asks_censys_and_each_ip_says_off():
    with LocalCloud(scenario_path=SCENARIOS / "internetdb.yaml") as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        histories = {name: history(cloud, address) for name, address in ip.items()}
        requests = cloud.censys.requests()
        functions = set(cloud.stack.functions)
    assert run.status == "SUCCEEDED"
    assert {r["censys"]["verdict"] for r in results.values()} == {"OFF"}
    assert requests == [] and "CensysLookupFunction" not in functions
    assert all("lastCensysVerdict" not in h for h in histories.values())
    [email] = report.emails
    assert "Censys" not in email["body"]
