"""Experiment mode through the local cloud: the real template (ExperimentMode=on), the real ASL
(SummarizeSweep draws the arms, RequestScans claims and requests each treatment tenure's scan),
the real handlers and shodan client, the local Shodan's POST /shodan/scan."""

from __future__ import annotations

import itertools
import secrets
from pathlib import Path

import boto3
import pytest

from ics_honeynet.contracts import Arm
from ics_honeynet.history_store import read_histories
from localcloud.cloud import LocalCloud
from localcloud.iam import acting_as
from localcloud.report import render_timeline, timeline
from localcloud.report import scan_outcomes as report_scan_outcomes

EXTRA_IP = "198.51.100.200"


def scenario(tmp_path: Path, tasks: int, credits: int = 100, experiment: bool = True) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(
        f"description: experiment\nshodan: {{api_key: k, scan_credits: {credits}}}\n"
        f"run: {{experiment: {str(experiment).lower()}}}\n"
        f"honeypots: [{', '.join(['not_indexed'] * tasks)}]\n"
        f"extra_ips: [{{ip: {EXTRA_IP}, shodan: not_indexed}}]\n"
    )
    return path


@pytest.fixture
def alternating_draws(monkeypatch):
    """The arms' coin (secrets.randbelow, as every container's experiment module calls it) made to
    alternate, so that exactly half of an even number of fresh tenures is treated (the real coin's
    fairness is tests/unit/test_experiment.py's)."""
    flips = itertools.cycle([1, 0])
    monkeypatch.setattr(secrets, "randbelow", lambda n: next(flips) % n)


def histories(cloud: LocalCloud, ips):
    return read_histories(
        boto3.client("dynamodb", region_name="us-east-1"), cloud.stack.output("ExposureTableName"), ips
    )


def scan_outcomes(run) -> list[dict]:
    return report_scan_outcomes(run.history)


def test_half_of_the_fresh_honeypots_are_scanned_once_and_the_arms_kept(tmp_path, alternating_draws):
    with LocalCloud(scenario_path=scenario(tmp_path, tasks=6)) as cloud:
        ips = {t.ip for t in cloud.wait_for_running(6)}
        cloud.shodan.set_fault("rate_limit", endpoint="scan", times=1)  # Shodan's 429: nothing scanned
        run, report = cloud.sweep()
        assert run.status == "SUCCEEDED", run.cause
        stored = histories(cloud, [*ips, EXTRA_IP])
        arms = {ip: stored[ip].arm for ip in ips}
        treated = {ip for ip, arm in arms.items() if arm == Arm.TREATMENT}
        assert sorted(arms.values()) == [Arm.CONTROL] * 3 + [Arm.TREATMENT] * 3
        # One scan per treatment tenure (the 429 retried, not doubled); none for the controls or
        # the extra IP, which has no arm.
        scans = cloud.shodan.scans()
        assert sorted(s.ip for s in scans) == sorted(treated)
        assert stored[EXTRA_IP].arm is None and stored[EXTRA_IP].scan_requested_at is None
        assert sorted(r.status for r in cloud.shodan.requests() if r.path == "/shodan/scan") == [200, 200, 200, 429]
        assert cloud.shodan.scan_credits == 100 - 3
        for scan in scans:
            tenure = stored[scan.ip]
            assert (tenure.scan_id, tenure.scan_requested_by, tenure.scan_error) == (scan.scan_id, run.name, None)
        assert all(stored[ip].scan_requested_at is None for ip in ips - treated)
        assert sorted((o["ip"], o["scan"]) for o in scan_outcomes(run)) == sorted((ip, "REQUESTED") for ip in treated)
        record = cloud.evidence(f"sweeps/{run.name}.json")
        assert record["experiment"]["arms"] == {ip: str(arm) for ip, arm in arms.items()}
        # What `make run` prints: the scans in the timeline, the arms in the report.
        lines = "\n".join(render_timeline(timeline(run.history, cloud.stack.definition, run.status)))
        assert "RequestScans" in lines and lines.count("REQUESTED") == 3
        assert report.arms == {ip: str(arm) for ip, arm in arms.items()}
        rendered = "\n".join(report.render())
        assert "Experiment (ExperimentMode=on): 6 tenure(s) in an arm, 3 scan(s) asked" in rendered

        # The next sweep: nothing drawn or requested again; Shodan indexed the scanned IPs.
        again, report = cloud.sweep()
        assert again.status == "SUCCEEDED" and len(cloud.shodan.scans()) == 3
        assert {ip: h.arm for ip, h in histories(cloud, ips).items()} == arms
        verdicts = {item["ip"]: item["verdict"] for item in report.checked}
        assert {ip: verdicts[ip] for ip in ips} == {ip: "INDEXED" if ip in treated else "NOT_INDEXED" for ip in ips}
        assert scan_outcomes(again) == []
        assert cloud.authorizer.denials == []


def test_a_failed_scan_request_is_recorded_on_its_tenure_and_the_sweep_succeeds(tmp_path, monkeypatch):
    monkeypatch.setattr(secrets, "randbelow", lambda n: 1 % n)  # every tenure treated
    with LocalCloud(scenario_path=scenario(tmp_path, tasks=4, credits=2)) as cloud:
        ips = {t.ip for t in cloud.wait_for_running(4)}
        cloud.shodan.set_fault("500", endpoint="scan", times=1)  # the first request: Shodan fails
        run, _ = cloud.sweep()
        assert run.status == "SUCCEEDED", run.cause
        outcomes = {o["ip"]: o for o in scan_outcomes(run)}
        assert sorted(o["scan"] for o in outcomes.values()) == ["FAILED", "FAILED", "REQUESTED", "REQUESTED"]
        errors = sorted(o["error"] for o in outcomes.values() if o["scan"] == "FAILED")
        assert errors[0].startswith("ShodanCreditsError: Insufficient scan credits")  # 2 credits for 3 requests
        assert errors[1].startswith("ShodanUnavailableError: Shodan answered HTTP 500")
        stored = histories(cloud, ips)
        for ip, outcome in outcomes.items():
            assert stored[ip].scan_requested_at is not None  # claimed before the request, whatever came of it
            assert stored[ip].scan_error == outcome.get("error") and stored[ip].scan_id == outcome.get("scanId")
        # A failed request is not retried (a 500 may have been queued): one POST per tenure.
        assert sorted(r.ip for r in cloud.shodan.requests() if r.path == "/shodan/scan") == sorted(ips)
        # Nor requested again by the next sweep.
        cloud.sweep()
        assert len([r for r in cloud.shodan.requests() if r.path == "/shodan/scan"]) == 4


def test_a_tenure_claimed_between_the_summary_and_the_request_is_not_requested_again(tmp_path, monkeypatch):
    """Another execution's claim (or a retry's first try) landing after SummarizeSweep listed the
    tenure: ClaimScan's condition fails and no request is sent."""
    monkeypatch.setattr(secrets, "randbelow", lambda n: 1 % n)
    with LocalCloud(scenario_path=scenario(tmp_path, tasks=2)) as cloud:
        cloud.wait_for_running(2)
        table = cloud.stack.output("ExposureTableName")
        claimed: list[str] = []

        def claim_first_meanwhile(handler):
            def summarize(event, context):
                reply = handler(event, context)
                if reply["scans"] and not claimed:
                    claimed.append(reply["scans"][0]["ip"])
                    with acting_as(None):  # another execution, not this function's role
                        boto3.client("dynamodb", region_name="us-east-1").update_item(
                            TableName=table,
                            Key={"ip": {"S": claimed[0]}},
                            UpdateExpression="SET scanRequestedAt = :t",
                            ExpressionAttributeValues={":t": {"S": "then"}},
                        )
                return reply

            return summarize

        cloud.runtime.wrap(cloud.stack.functions["SummarizeSweepFunction"], claim_first_meanwhile)
        run, _ = cloud.sweep()
        assert run.status == "SUCCEEDED", run.cause
        outcomes = {o["ip"]: o["scan"] for o in scan_outcomes(run)}
        assert outcomes[claimed[0]] == "ALREADY_CLAIMED"
        assert [s.ip for s in cloud.shodan.scans()] == [ip for ip in outcomes if ip != claimed[0]]


def test_experiment_mode_is_off_by_default_nothing_drawn_nothing_scanned(tmp_path):
    with LocalCloud(scenario_path=scenario(tmp_path, tasks=2, experiment=False)) as cloud:
        ips = {t.ip for t in cloud.wait_for_running(2)}
        run, _ = cloud.sweep()
        assert run.status == "SUCCEEDED"
        assert all(h.arm is None for h in histories(cloud, ips).values())
        assert cloud.shodan.scans() == [] and scan_outcomes(run) == []
        entered = {e["stateEnteredEventDetails"]["name"] for e in run.history if "stateEnteredEventDetails" in e}
        assert "AnyScansToRequest" in entered and "RequestScans" not in entered
