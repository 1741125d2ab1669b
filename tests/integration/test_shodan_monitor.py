"""The Shodan alert and Monitor's push, each in its own local cloud: the plan's monitored-IP limit,
an alert Shodan cannot sync, and a honeypot Shodan indexes between sweeps (scenarios/push.yaml),
pushed by the local Shodan to the stack's function URL, signed as Shodan signs it."""

from __future__ import annotations

import time
from pathlib import Path

from localcloud.cloud import LocalCloud

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_ips_over_the_plans_monitored_limit_are_said_in_the_record_and_the_email(tmp_path):
    scenario = tmp_path / "limit.yaml"
    scenario.write_text(
        (SCENARIOS / "all-quiet.yaml").read_text().replace("shodan:\n", "shodan:\n  monitored_ips: 1\n", 1)
    )
    with LocalCloud(scenario_path=scenario, tasks=2) as limited:
        running = limited.wait_for_running(2)
        run, report = limited.sweep()
        record = limited.evidence(f"sweeps/{run.name}.json")["shodanAlert"]
        [alert] = limited.shodan.alerts()
    assert run.status == "SUCCEEDED" and (record["limit"], record["monitored"]) == (1, 1)
    assert alert["filters"]["ip"] + record["unmonitored"] == [t.ip for t in sorted(running, key=lambda t: t.slot)]
    [email] = report.emails
    assert "over the Shodan Monitor limit" in email["subject"] and record["unmonitored"][0] in email["body"]


def test_an_alert_shodan_cannot_sync_never_fails_the_sweep(tmp_path):
    with LocalCloud(scenario_path=SCENARIOS / "all-quiet.yaml", tasks=1) as flaky:
        flaky.wait_for_running(1)
        flaky.shodan.set_fault("503", endpoint="alert")
        run, report = flaky.sweep()
        record = flaky.evidence(f"sweeps/{run.name}.json")
    assert run.status == "SUCCEEDED" and report.checked[0]["verdict"] == "NOT_INDEXED"
    assert record["shodanAlert"] == {"status": "NOT_SYNCED", "error": "ShodanUnavailableError"}


# -- the push itself: Shodan indexes a honeypot between sweeps --------------------------------------
def test_a_honeypot_indexed_between_sweeps_is_pushed_alerted_and_moved_to_a_clean_ip():
    with LocalCloud(scenario_path=SCENARIOS / "push.yaml", rotate_on="indexed") as pushed:
        tasks = pushed.wait_for_running(2)
        found = next(t for t in tasks if t.slot == 1)
        first, first_report = pushed.sweep()
        assert first.status == "SUCCEEDED" and {c["verdict"] for c in first_report.checked} == {"NOT_INDEXED"}
        before = pushed.snapshot()
        deadline = time.monotonic() + 60
        while not any(e["name"].startswith("push-") for e in pushed.executions()):
            assert time.monotonic() < deadline, "no push sweep started"
            time.sleep(0.05)
        [started] = [e for e in pushed.executions() if e["name"].startswith("push-")]
        run = pushed.wait_for_execution(started["name"])
        report = pushed.report(run, before)
        pushes = pushed.shodan.pushes()
        [alert] = pushed.shodan.alerts()
        now_running = sorted(t.ip for t in pushed.scheduler.running_tasks() if t.running)
        executions = pushed.executions()
    # One push per new banner (two ports), both signed and accepted; one sweep between them.
    assert sorted(p.port for p in pushes) == [102, 502] and {p.ip for p in pushes} == {found.ip}
    assert sorted(p.status for p in pushes) == [202, 202] and len(executions) == 2
    assert run.status == "SUCCEEDED" and run.input == {"targetIp": found.ip}
    assert report.checked == [{"ip": found.ip, "verdict": "INDEXED"}]
    [rotation] = report.rotated
    assert rotation["from"] == found.ip and rotation["status"] == "ROTATED"
    [email] = report.emails
    assert email["subject"] == "ICS honeynet: 1 newly on Shodan, 1 rotated"
    # The alert now watches the new IP instead of the indexed one.
    assert sorted(alert["filters"]["ip"]) == now_running and found.ip not in now_running
