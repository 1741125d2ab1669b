"""Shodan InternetDB in the sweep, through the real template, ASL, handlers and HTTP: its opinion
beside Shodan's API verdict in the record, the history and the email; its failures never touch
Shodan's verdict."""

from __future__ import annotations

from pathlib import Path

import boto3

from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def slots(cloud) -> dict[str, str]:
    """Scenario profile name -> the IP its task got."""
    names = {i: p.name for i, p in enumerate(cloud.scenario.honeypots)}
    return {names[t.slot]: t.ip for t in cloud.wait_for_running(len(names))}


def record(cloud, run) -> dict[str, dict]:
    return {r["ip"]: r for r in cloud.evidence(f"sweeps/{run.name}.json")["results"]}


def history(cloud, ip) -> dict:
    table = cloud.stack.output("ExposureTableName")
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"ip": {"S": ip}})["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def test_both_engines_verdicts_are_recorded_kept_and_emailed():
    with LocalCloud(scenario_path=SCENARIOS / "internetdb.yaml") as cloud:
        ip = slots(cloud)
        run, report = cloud.sweep()
        results = record(cloud, run)
        evidence = cloud.evidence(f"evidence/{ip['indexed-and-in-internetdb']}/{run.name}.json")
        histories = {name: history(cloud, address) for name, address in ip.items()}
        asked = {name: len(cloud.shodan.internetdb_requests(address)) for name, address in ip.items()}
    assert run.status == "SUCCEEDED"
    both = {name: (results[a]["verdict"], results[a]["internetDb"]["verdict"]) for name, a in ip.items()}
    assert both == {
        "quiet": ("NOT_INDEXED", "NOT_INDEXED"),
        "indexed-and-in-internetdb": ("INDEXED", "INDEXED"),
        "burned-not-yet-in-internetdb": ("FINGERPRINTED", "NOT_INDEXED"),  # weekly: not there yet
    }
    assert asked == {name: 1 for name in ip}  # one InternetDB request per IP
    # The evidence of an exposed IP holds InternetDB's whole opinion beside Shodan's check.
    assert evidence["engine"] == "api" and evidence["verdict"] == "INDEXED"
    assert evidence["internetDb"] == {"verdict": "INDEXED", "ports": [102, 502], "tags": ["ics"]}
    # Each IP's history: InternetDB's last verdict, and when this tenure first appeared in it.
    assert {name: h["lastInternetDbVerdict"] for name, h in histories.items()} == {
        name: internetdb for name, (_api, internetdb) in both.items()
    }
    assert "internetDbFirstIndexed" in histories["indexed-and-in-internetdb"]
    assert "internetDbFirstIndexed" not in histories["burned-not-yet-in-internetdb"]
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 newly in InternetDB"
    body = email["body"]
    assert "    InternetDB: INDEXED (ports 102, 502; tags ics)\n" in body
    assert "    InternetDB: NOT_INDEXED\n" in body  # the fingerprinted one, beside its Shodan verdict
    assert (
        f"- {ip['indexed-and-in-internetdb']}  InternetDB: INDEXED (ports 102, 502; tags ics)  (Shodan's API: INDEXED)"
    ) in body


def test_what_internetdb_lists_later_is_emailed_once_and_never_changes_shodans_verdict():
    with LocalCloud(scenario_path=SCENARIOS / "internetdb.yaml") as cloud:
        ip = slots(cloud)["burned-not-yet-in-internetdb"]
        first, _ = cloud.sweep()
        before = record(cloud, first)[ip]
        cloud.shodan.publish_to_internetdb(ip)  # InternetDB's weekly refresh reaches the IP
        second, report = cloud.sweep()
        after = record(cloud, second)[ip]
        third, quiet = cloud.sweep()
    assert before["internetDb"]["verdict"] == "NOT_INDEXED"
    assert (after["verdict"], after["internetDb"]["verdict"]) == ("FINGERPRINTED", "FINGERPRINTED")
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly in InternetDB"
    assert f"- {ip}  InternetDB: FINGERPRINTED (ports " in email["body"]
    assert "tags honeypot, ics)  (Shodan's API: FINGERPRINTED)" in email["body"]
    assert third.status == "SUCCEEDED" and quiet.emails == []  # once per tenure, not every sweep


def engine_errors(run) -> list[str]:
    """The errors AskInternetDb's invocations failed with (the execution history keeps them)."""
    return [e["taskFailedEventDetails"]["error"] for e in run.history if e["type"] == "TaskFailed"]


def test_internetdb_down_keeps_shodans_verdicts_records_its_error_and_the_sweep_succeeds():
    with LocalCloud() as cloud:  # the default scenario: not indexed, indexed, fingerprinted
        running = cloud.wait_for_running(3)
        cloud.shodan.set_internetdb_fault("503")
        run, report = cloud.sweep()
        results = record(cloud, run)
        asked = [len(cloud.shodan.internetdb_requests(t.ip)) for t in running]
        evidence = [k for k in report.s3_keys if k.startswith("evidence/")]
        errors = [k for k in report.s3_keys if k.startswith("errors/")]
    assert run.status == "SUCCEEDED"
    assert sorted(r["verdict"] for r in results.values()) == ["FINGERPRINTED", "INDEXED", "NOT_INDEXED"]
    assert {r["internetDb"]["verdict"] for r in results.values()} == {"ERROR"}
    # The exposed IPs' evidence keeps the error's name; every IP's entry the ERROR.
    assert [r["internetDb"].get("error") for r in results.values() if r["verdict"] != "NOT_INDEXED"] == [
        "InternetDbUnavailableError"
    ] * 2
    assert asked == [1 + 3] * 3  # retried (MaxAttempts 3), then recorded as the engine's ERROR
    assert engine_errors(run) == ["InternetDbUnavailableError"] * 12
    assert len(evidence) == 2 and errors == []  # nothing counted as "not checked"
    [email] = report.emails  # the findings, as without InternetDB
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"
    assert email["body"].count("    InternetDB: ERROR (InternetDbUnavailableError; asked again next sweep)") == 2


def test_internetdb_unreachable_or_answering_nonsense_is_the_engines_error_only():
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml") as cloud:
        running = cloud.wait_for_running(2)
        cloud.shodan.set_internetdb_fault("garbage", ip=running[0].ip)
        cloud.internetdb_endpoint = cloud.shodan.internetdb_url
        run, report = cloud.sweep()
        results = record(cloud, run)
        garbage_asked = len(cloud.shodan.internetdb_requests(running[0].ip))
        cloud.internetdb_endpoint = "http://127.0.0.1:9"  # nothing listens: InternetDB unreachable
        unreachable, _ = cloud.sweep()
        unreached = record(cloud, unreachable)
    assert run.status == unreachable.status == "SUCCEEDED"
    assert results[running[0].ip]["internetDb"] == {"verdict": "ERROR"}
    assert engine_errors(run) == ["InternetDbResponseError"]
    assert garbage_asked == 1  # a bad answer is not retried: the same answer would come back
    assert results[running[1].ip]["internetDb"] == {"verdict": "NOT_INDEXED"}
    assert {r["verdict"] for r in results.values()} == {r["verdict"] for r in unreached.values()} == {"NOT_INDEXED"}
    assert {r["internetDb"]["verdict"] for r in unreached.values()} == {"ERROR"}
    assert set(engine_errors(unreachable)) == {"InternetDbUnavailableError"}
    assert report.emails == []  # an engine's error is no change to email


def test_a_rate_limited_internetdb_is_retried_until_it_answers():
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml") as cloud:
        victim = cloud.wait_for_running(2)[0].ip
        cloud.shodan.set_internetdb_fault("rate_limit", ip=victim, times=2)
        run, _ = cloud.sweep()
        statuses = [r.status for r in cloud.shodan.internetdb_requests(victim)]
        results = record(cloud, run)
    assert run.status == "SUCCEEDED"
    assert statuses == [429, 429, 404]
    assert results[victim]["internetDb"] == {"verdict": "NOT_INDEXED"}


# -- no Shodan key: ShodanEngine=internetdb --------------------------------------------------------
def test_without_a_key_the_opt_in_sweeps_with_internetdb_alone_and_says_so():
    with LocalCloud(
        scenario_path=SCENARIOS / "no-key.yaml", rotate_on="fingerprinted", parameters={"ShodanEngine": "internetdb"}
    ) as cloud:
        ip = slots(cloud)
        boto3.client("ssm").delete_parameter(Name="/ics-honeynet/shodan-api-key")  # no key at all
        run, report = cloud.sweep()
        sweep_record = cloud.evidence(f"sweeps/{run.name}.json")
        results = {r["ip"]: r for r in sweep_record["results"]}
        asked = {name: len(cloud.shodan.internetdb_requests(address)) for name, address in ip.items()}
        shodan_requests = cloud.shodan.requests()
        states = {e["stateEnteredEventDetails"]["name"] for e in run.history if "stateEnteredEventDetails" in e}
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert {name: results[a]["verdict"] for name, a in ip.items()} == {
        "quiet": "NOT_INDEXED",
        "listed": "INDEXED",
        "tagged": "FINGERPRINTED",
    }
    assert {results[a]["engine"] for a in ip.values() if "engine" in results[a]} == {"internetdb"}
    assert shodan_requests == []  # neither the key nor Shodan's API: not a lookup, not an alert
    assert sweep_record["shodanEngine"] == "internetdb" and sweep_record["shodanAlert"] == {"status": "OFF"}
    assert "ShodanMonitorOff" in states and "SyncShodanAlert" not in states and "AskInternetDb" not in states
    # One InternetDB request per IP of the sweep, and one for the rotation's new IP (its check).
    [rotation] = report.rotated
    assert rotation["from"] == ip["tagged"] and rotation["status"] == "ROTATED"
    assert asked == {"quiet": 1, "listed": 1, "tagged": 1}
    assert len(cloud.shodan.internetdb_requests(rotation["to"])) == 1
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan, 1 rotated"
    assert "Verdicts by Shodan InternetDB alone (ShodanEngine=internetdb: no Shodan API key)" in email["body"]
    assert "    honeyscore: not asked (InternetDB gives none)" in email["body"]
    assert "    InternetDB:" not in email["body"]  # its verdict is the check's own, not a second opinion


def test_without_a_key_an_internetdb_that_keeps_failing_is_that_ips_error_with_its_cause_stored():
    with LocalCloud(scenario_path=SCENARIOS / "no-key.yaml", parameters={"ShodanEngine": "internetdb"}) as cloud:
        ip = slots(cloud)
        cloud.shodan.set_internetdb_fault("503", ip=ip["listed"])
        run, report = cloud.sweep()
        results = record(cloud, run)
        stored = cloud.evidence(f"errors/{ip['listed']}/{run.name}.json")
    assert run.status == "SUCCEEDED"
    assert (results[ip["listed"]]["verdict"], results[ip["listed"]]["error"]) == ("ERROR", "InternetDbUnavailableError")
    assert stored["Error"] == "InternetDbUnavailableError"
    assert results[ip["tagged"]]["verdict"] == "FINGERPRINTED"
    [email] = report.emails
    assert "1 not checked" in email["subject"] and f"{ip['listed']}  InternetDbUnavailableError" in email["body"]


def test_with_the_api_engine_a_missing_or_rejected_key_still_fails_loudly():
    # The opt-in is the parameter: without it, no key is a configuration error, never a silent fallback.
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml", stored_shodan_key="revoked") as cloud:
        run, report = cloud.sweep()
        asked = cloud.shodan.internetdb_requests()
    assert (run.status, run.error) == ("FAILED", "ShodanAuthError")
    assert asked == []  # the sweep stopped at Shodan's 401, before any second opinion
    [email] = report.emails
    assert "sweep FAILED" in email["subject"]
