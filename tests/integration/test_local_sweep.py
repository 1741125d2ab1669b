"""The whole system in the local cloud: the real template, ASL, handlers and Shodan client."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
EXPOSED = {"INDEXED", "FINGERPRINTED"}


def verdicts(report) -> dict[str, str]:
    return {item["ip"]: item["verdict"] for item in report.checked}


def sweep_files(run) -> list[str]:
    """A sweep's working file: its targets."""
    return [f"targets/{run.name}.json"]


def test_no_tasks_is_a_quiet_success():
    with LocalCloud(tasks=0) as cloud:
        run, report = cloud.sweep()
    assert run.status == "SUCCEEDED"
    assert report.checked == [] and report.s3_keys == [] and report.emails == [] and report.rotated == []
    assert any(e["type"] == "SucceedStateEntered" and e["stateEnteredEventDetails"]["name"] == "NothingToCheck"
               for e in run.history)  # fmt: skip


def test_nothing_indexed_sends_nothing():
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml") as cloud:
        running = cloud.wait_for_running(cloud.desired_count())
        run, report = cloud.sweep()
        requests = {t.ip: len(cloud.shodan.requests(t.ip)) for t in running}
        record = cloud.evidence(f"sweeps/{run.name}.json")
    assert run.status == "SUCCEEDED"
    assert set(verdicts(report).values()) == {"NOT_INDEXED"}
    assert len(report.checked) == len(running) == 2
    assert report.emails == []
    # No evidence, but the sweep's record holds every IP with its verdict (beside the sweep's
    # working file: its targets).
    assert sorted(report.s3_keys) == sorted([*sweep_files(run), f"sweeps/{run.name}.json"])
    assert {r["ip"]: r["verdict"] for r in record["results"]} == verdicts(report)
    # A not-indexed IP costs exactly one Shodan request.
    assert set(requests.values()) == {1}


def test_default_scenario_stores_evidence_and_sends_one_email():
    with LocalCloud() as cloud:
        running = cloud.wait_for_running(3)
        run, report = cloud.sweep()
        evidence = {key: cloud.evidence(key) for key in report.s3_keys}
    assert run.status == "SUCCEEDED"
    found = verdicts(report)
    assert sorted(found.values()) == ["FINGERPRINTED", "INDEXED", "NOT_INDEXED"]
    assert set(found) == {t.ip for t in running}
    exposed = sorted(ip for ip, v in found.items() if v in EXPOSED)
    assert sorted(report.s3_keys) == sorted(
        [f"evidence/{ip}/{run.name}.json" for ip in exposed] + [f"sweeps/{run.name}.json"] + sweep_files(run)
    )
    for key, document in evidence.items():
        if key.startswith("targets/"):
            continue
        if key.startswith("sweeps/"):
            assert document["checked"] == 3 and len(document["results"]) == 3
            continue
        # The check as the state machine stored it: the verdict and an excerpt of Shodan's document.
        assert document["ip"] == key.split("/")[1] and document["verdict"] in EXPOSED
        assert document["host"]["ip_str"] == document["ip"] and document["host"]["data"], "banners kept"
        assert document["evidenceKey"] == key
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"
    for ip in exposed:
        assert ip in email["body"]
        assert f"evidence/{ip}/{run.name}.json" in email["body"]
    assert f"sweeps/{run.name}.json" in email["body"]
    assert "FINGERPRINTED" in email["body"] and "honeypot" in email["body"]
    assert report.rotated == []  # RotateOn defaults to never
    # A fresh task's banners are all ours (none predates startedAt): every port of the scenario.
    [record] = [document for key, document in evidence.items() if key.startswith("sweeps/")]
    ports = {r["verdict"]: (r.get("ports"), r.get("priorOwner")) for r in record["results"]}
    assert ports["INDEXED"] == ([80, 102, 502], None)
    assert ports["FINGERPRINTED"] == ([21, 80, 102, 161, 502, 44818, 47808], None)


def test_rotation_moves_the_fingerprinted_honeypot_to_a_new_ip():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        before = {t.ip for t in cloud.wait_for_running(3)}
        run, report = cloud.sweep()
        after = {t.ip for t in cloud.wait_for_running(3)}
        stopped = [t for t in cloud.scheduler.history if not t.running]
    assert run.status == "SUCCEEDED"
    fingerprinted = [ip for ip, v in verdicts(report).items() if v == "FINGERPRINTED"]
    assert [r["from"] for r in report.rotated] == fingerprinted
    [rotation] = report.rotated
    assert rotation["to"] and rotation["to"] not in before
    assert after == (before - {rotation["from"]}) | {rotation["to"]}
    assert "ics-honeynet sweep" in stopped[0].stopped_reason
    assert rotation["status"] == "ROTATED" and rotation["attempts"] == 1 and rotation["via"] == []
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 rotated"
    assert "Rotated to a fresh IP (RotateOn=fingerprinted)" in email["body"]
    assert f"- {rotation['from']} -> {rotation['to']}" in email["body"]


def test_a_rejected_shodan_key_fails_the_sweep_loudly():
    with LocalCloud(stored_shodan_key="not-the-key") as cloud:
        run, report = cloud.sweep()
        asked = Counter(r.ip for r in cloud.shodan.requests())
        retried = cloud.retries(run, "CheckIp")
        alarms = [(d.alarm, d.delivered) for d in cloud.alarm_deliveries]
    assert run.status == "FAILED"
    assert run.error == "ShodanAuthError"
    assert report.s3_keys == [f"targets/{run.name}.json"]  # no evidence, no errors, no record
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: sweep FAILED"
    assert "ShodanAuthError" in email["body"]
    assert "not-the-key" not in json.dumps(run.history, default=str)
    # No retry: every other request would fail the same way. The alarm fires too.
    assert set(asked.values()) == {1} and retried == []
    assert alarms == [("SweepFailedAlarm", True)]


def test_rate_limiting_is_retried_until_every_ip_is_checked():
    # Three checks at once share the key's 1 request/s; Shodan also answers 429 twice for one IP
    # whatever the pace. Time scale 0.25: the 1 s window becomes 250 ms.
    with LocalCloud(
        scenario_path=SCENARIOS / "rate-limited.yaml", parameters={"MapConcurrency": "3"}, time_scale=0.25
    ) as cloud:
        running = cloud.wait_for_running(cloud.desired_count())
        victim = running[0].ip
        cloud.shodan.set_fault("rate_limit", ip=victim, times=2)
        run, report = cloud.sweep()
        statuses = [r.status for r in cloud.shodan.requests(victim) if r.path.startswith("/shodan/host/")]
        retried = [(w.error, w.ceiling) for w in cloud.retries(run, "CheckIp", victim)]
    assert run.status == "SUCCEEDED"
    # Backed off, retried, answered: every 429 (the two injected, and any the shared pace let
    # through on this busy machine) retried once, the ceilings doubling from 2 s.
    answer = 404 if verdicts(report)[victim] == "NOT_INDEXED" else 200  # Shodan's answer, at last
    assert statuses[:2] == [429, 429] and statuses[-1] == answer and set(statuses[2:-1]) <= {429}
    assert retried == [("ShodanRateLimitError", s) for s in (2, 4, 8, 16, 30, 30)[: len(statuses) - 1]]
    assert set(verdicts(report)) == {t.ip for t in running}
    assert "ERROR" not in verdicts(report).values()


@pytest.mark.parametrize("flag", [[], ["--json"]])
def test_cli_prints_the_execution_and_what_happened(capsys, flag):
    from localcloud.__main__ import main

    status = main(["run", *flag])
    out = capsys.readouterr().out
    assert status == 0
    if flag:
        document = json.loads(out)
        assert set(document) >= {"status", "executionArn", "checked", "s3Keys", "emails", "rotated"}
        assert document["status"] == "SUCCEEDED" and len(document["checked"]) == 3
    else:
        for state in ("ListHoneypotIps", "CheckEachIp", "CheckIp", "SummarizeSweep", "NotifyExposure"):
            assert state in out
        # Each IP's iteration: its IP, its verdict, the branches it took.
        rows = [line.split() for line in out.splitlines() if line.lstrip().startswith("#")]
        assert sorted(row[2] for row in rows) == ["FINGERPRINTED", "INDEXED", "NOT_INDEXED"]
        for row in rows:
            stored = row[2] != "NOT_INDEXED"
            assert ("StoreEvidence" in row and "EvidenceStored" in row) == stored, row
            assert ("NotOnShodan" in row) != stored, row
        assert "IPs checked:" in out and "Emails sent (1):" in out and "Subject: ICS honeynet:" in out


def test_a_recycled_ips_stale_honeypot_tag_neither_alerts_nor_rotates():
    with LocalCloud(scenario_path=SCENARIOS / "recycled-ip.yaml", rotate_on="fingerprinted") as cloud:
        running = {t.slot: t.ip for t in cloud.wait_for_running(3)}
        run, report = cloud.sweep()
        record = {r["ip"]: r for r in cloud.evidence(f"sweeps/{run.name}.json")["results"]}
    assert run.status == "SUCCEEDED"
    found = verdicts(report)
    assert found[running[1]] == "NOT_INDEXED"  # only a prior owner's banners, 72 h before our task
    prior = record[running[1]]["priorOwner"]
    assert prior["banners"] == 7 and prior["ports"] == [21, 80, 102, 161, 502, 44818, 47808]
    assert "honeypot" in prior["tags"]
    assert found[running[2]] == "FINGERPRINTED"
    assert [r["from"] for r in report.rotated] == [running[2]]  # the stale one stays


def test_extra_ips_are_checked_and_never_rotated():
    with LocalCloud(
        scenario_path=SCENARIOS / "hybrid.yaml",
        rotate_on="indexed",
        parameters={"ExtraHoneypotIps": "198.51.100.77, 198.51.100.78, not-an-ip"},
    ) as cloud:
        [own] = cloud.wait_for_running(1)
        run, report = cloud.sweep()
        record = cloud.evidence(f"sweeps/{run.name}.json")
    assert run.status == "SUCCEEDED"
    assert verdicts(report) == {own.ip: "INDEXED", "198.51.100.77": "FINGERPRINTED", "198.51.100.78": "NOT_INDEXED"}
    assert [r["from"] for r in report.rotated] == [own.ip]  # the extra IP is exposed too, but not ours to move
    assert {"taskArn": "extra:not-an-ip", "reason": "not an IP address: 'not-an-ip'"} in record["skipped"]
    [email] = report.emails
    assert (
        "- 198.51.100.77  FINGERPRINTED  [extra IP]\n"
        "    task:       extra IP (ExtraHoneypotIps: outside this stack, never rotated)\n"
        "    on Shodan:  https://www.shodan.io/host/198.51.100.77\n"
    ) in email["body"]
    assert f"- {own.ip}  INDEXED\n" in email["body"] and f"https://www.shodan.io/host/{own.ip}\n" in email["body"]
    assert email["body"].startswith(f"Shodan sweep {run.name}: 3 honeypot IP(s) checked; first sweep of these IPs, ")


def test_a_honeyscore_at_the_threshold_fingerprints_a_honeypot_without_a_honeypot_tag(tmp_path):
    scenario = tmp_path / "scored.yaml"
    scenario.write_text(
        "description: scored\nshodan: {api_key: k}\n"
        "honeypots: [{name: scored, shodan: indexed, tags: [ics], honeyscore: 0.5}]\n"
    )
    with LocalCloud(scenario_path=scenario) as cloud:
        [task] = cloud.wait_for_running(1)
        run, report = cloud.sweep()
        [result] = cloud.evidence(f"sweeps/{run.name}.json")["results"]
    assert run.status == "SUCCEEDED"
    assert verdicts(report) == {task.ip: "FINGERPRINTED"}
    assert (result["tags"], result["honeyscore"]) == (["ics"], 0.5)  # no tag said it: the score did
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted"
    assert f"- {task.ip}  FINGERPRINTED\n" in email["body"] and "    honeyscore: 0.5\n" in email["body"]
