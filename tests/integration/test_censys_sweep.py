"""Censys in the sweep, through the real template, ASL, handlers and HTTP: its opinion beside
Shodan's verdict in the record, the history and the email; off without a token; its budget, its
rate limits and its failures never touch Shodan's verdict nor fail the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud
from tests.integration.test_internetdb_sweep import history, record, slots
from tests.mutants import asl_changed, mutant, state

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


def test_censys_down_is_its_error_only_and_shodans_verdict_stands():
    with LocalCloud(scenario_path=CENSYS) as cloud:
        ip = slots(cloud)
        cloud.censys.set_fault("503")
        run, report = cloud.sweep()
        results = record(cloud, run)
        asked = [len(cloud.censys.requests(address)) for address in ip.values()]
        evidence = cloud.evidence(f"evidence/{ip['indexed-and-in-censys']}/{run.name}.json")
    assert run.status == "SUCCEEDED"
    assert {n: results[a]["verdict"] for n, a in ip.items()} == {
        "quiet": "NOT_INDEXED",
        "indexed-and-in-censys": "INDEXED",
        "censys-calls-it-a-honeypot": "NOT_INDEXED",
    }
    assert {r["censys"]["verdict"] for r in results.values()} == {"ERROR"}
    assert evidence["censys"] == {"verdict": "ERROR", "error": "CensysUnavailableError"}
    assert asked == [1 + 2] * 3  # retried (MaxAttempts 2), then recorded as Censys's ERROR
    assert censys_errors(run) == ["CensysUnavailableError"] * 9
    [email] = report.emails  # Shodan's finding, as without Censys
    assert email["subject"] == "ICS honeynet: 1 newly on Shodan"
    assert "    Censys:     ERROR (CensysUnavailableError; asked again next sweep)\n" in email["body"]


def test_a_rate_limited_censys_is_retried_until_it_answers():
    with LocalCloud(scenario_path=CENSYS) as cloud:
        ip = slots(cloud)["indexed-and-in-censys"]
        cloud.censys.set_fault("rate_limit", ip=ip, times=2)
        run, _ = cloud.sweep()
        result = record(cloud, run)[ip]
        statuses = [r.status for r in cloud.censys.requests(ip)]
    assert run.status == "SUCCEEDED"
    assert result["censys"]["verdict"] == "INDEXED"
    assert statuses == [429, 429, 200]
    assert censys_errors(run) == ["CensysRateLimitError"] * 2


def test_a_rejected_token_is_censys_error_for_each_ip_and_said_in_the_email():
    with LocalCloud(scenario_path=CENSYS, stored_censys_token="not-the-token") as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        statuses = [r.status for r in cloud.censys.requests()]
    assert run.status == "SUCCEEDED"
    assert {r["censys"]["verdict"] for r in results.values()} == {"ERROR"}
    assert results[ip["indexed-and-in-censys"]]["verdict"] == "INDEXED"  # Shodan's verdict stands
    assert statuses == [401] * 3  # asked once each: no retry helps a rejected token
    assert censys_errors(run) == ["CensysAuthError"] * 3
    [email] = report.emails
    assert "Censys rejected the token (CensysAuthError, HTTP 401/403)" in email["body"]


def test_a_spent_budget_skips_censys_without_a_request():
    with LocalCloud(scenario_path=CENSYS, parameters={"CensysMonthlyLookups": "2"}) as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        asked = sorted(len(cloud.censys.requests(address)) for address in ip.values())
        second, _ = cloud.sweep()
        again = record(cloud, second)
        total = len(cloud.censys.requests())
    assert run.status == "SUCCEEDED" and second.status == "SUCCEEDED"
    verdicts = sorted(r["censys"]["verdict"] for r in results.values())
    assert verdicts.count("SKIPPED_BUDGET") == 1 and asked == [0, 1, 1]  # no request for the skipped IP
    assert {r["censys"]["verdict"] for r in again.values()} == {"SKIPPED_BUDGET"}
    assert total == 2  # the month's two lookups, and no more
    assert censys_errors(run) == []  # never an error
    [email] = report.emails
    assert "Censys: 1 IP(s) not asked, this month's CensysMonthlyLookups are spent (SKIPPED_BUDGET)." in email["body"]


# -- mutants: the defect put back, the promise lost ------------------------------------------------
READ_CENSYS_TOKEN = (
    "            - Sid: ReadCensysToken\n"
    "              Effect: Allow\n"
    "              Action: ssm:GetParameter\n"
    '              Resource: !Sub "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}'
    ':parameter${CensysTokenParameter}"\n'
)


def check_censys_down_keeps_every_verdict(cloud, run, results) -> None:
    """What test_censys_down_is_its_error_only_and_shodans_verdict_stands promises."""
    assert run.status == "SUCCEEDED"
    assert sorted(r["verdict"] for r in results.values()) == ["INDEXED", "NOT_INDEXED", "NOT_INDEXED"]
    assert {r["censys"]["verdict"] for r in results.values()} == {"ERROR"}


def test_without_askcensys_catch_a_censys_failure_fails_the_sweep_and_loses_every_verdict(tmp_path):
    def without_catch(definition: dict) -> None:
        del state(definition, "AskCensys")["Catch"]

    with LocalCloud(scenario_path=CENSYS, template_path=asl_changed(tmp_path, without_catch)) as cloud:
        slots(cloud)
        cloud.censys.set_fault("503")
        run, report = cloud.sweep()
        assert run.status == "FAILED" and not [k for k in report.s3_keys if k.startswith("sweeps/")]
        with pytest.raises(AssertionError):
            check_censys_down_keeps_every_verdict(cloud, run, {})


def test_without_ssm_get_parameter_on_the_token_censys_cannot_be_asked(tmp_path):
    # The local cloud evaluates the function's role as IAM would: no ssm:GetParameter on the
    # token's parameter, no token (CensysTokenUnavailableError), whatever Censys would answer.
    template = mutant(tmp_path, READ_CENSYS_TOKEN, "")
    with LocalCloud(scenario_path=CENSYS, template_path=template) as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        requests = cloud.censys.requests()
    assert run.status == "SUCCEEDED"  # Censys is secondary
    assert {r["censys"]["verdict"] for r in results.values()} == {"ERROR"} and requests == []
    assert censys_errors(run) == ["CensysTokenUnavailableError"] * 3
    assert results[ip["indexed-and-in-censys"]]["censys"]["error"] == "CensysTokenUnavailableError"
    [email] = report.emails
    assert "Censys's token could not be read (CensysTokenUnavailableError)" in email["body"]
