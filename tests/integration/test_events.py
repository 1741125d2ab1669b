"""events/: each file is what the sweep really sends its function (the payloads of a real sweep in
the local cloud), and each runs through its handler given what README "Deploy" says it needs."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.cloud import LocalCloud
from localcloud.functions import load_handler

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
# The objects a deployed stack's earlier sweep steps leave in S3 (the events name them).
SWEEP_OBJECTS = ROOT / "tests" / "fixtures" / "summarize_sweep_s3.json"

# event file -> (the function's handler module, the state machine's state that invokes it with that shape)
FUNCTION_EVENTS = {
    "list_honeypot_ips.json": ("list_honeypot_ips", "ListHoneypotIps"),
    "list_replacements.json": ("list_honeypot_ips", "ListReplacements"),
    "shodan_lookup.json": ("shodan_lookup", "CheckIp"),
    "shodan_lookup_replacement.json": ("shodan_lookup", "LookupReplacement"),
    "internetdb_lookup.json": ("internetdb_lookup", "AskInternetDb"),
    "censys_lookup.json": ("censys_lookup", "AskCensys"),
    "track_rotation.json": ("track_rotation", "JudgeReplacements"),
    "summarize_sweep.json": ("summarize_sweep", "SummarizeSweep"),
    "request_shodan_scan.json": ("request_shodan_scan", "RequestScan"),
    "sync_shodan_alert.json": ("sync_shodan_alert", "SyncShodanAlert"),
}


def shape(value: Any) -> Any:
    """Field names and JSON types, recursively (lists by their first element; null is 'any')."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None if value is None else type(value).__name__


def same_shape(event: Any, sent: Any) -> bool:
    if isinstance(event, dict) and isinstance(sent, dict):
        return event.keys() == sent.keys() and all(same_shape(event[k], sent[k]) for k in event)
    if isinstance(event, list) and isinstance(sent, list):
        return not event or not sent or same_shape(event[0], sent[0])
    return event is None or sent is None or event == sent


# The tests share a module-scoped fixture: one worker runs them all, in order, and makes it once
# (make test runs the suite on several workers with --dist loadgroup).
pytestmark = pytest.mark.xdist_group(__name__)


@pytest.fixture(scope="module")
def swept():
    """A real sweep with a verified rotation, in experiment mode with every fresh tenure treated:
    every function is invoked, each payload recorded."""
    with (
        pytest.MonkeyPatch.context() as patch,
        LocalCloud(
            rotate_on="fingerprinted", parameters={"ExperimentMode": "on"}, censys_token="local-censys-token"
        ) as cloud,
    ):
        patch.setattr(secrets, "randbelow", lambda n: 1 % n)  # the arms' coin: treatment
        cloud.wait_for_running(3)
        run, _report = cloud.sweep()
        assert run.status == "SUCCEEDED"
        sent: dict[str, list[Any]] = {}
        entered = None
        for event in run.history:
            if event["type"] == "TaskStateEntered":
                entered = event["stateEnteredEventDetails"]["name"]
            if event["type"] == "TaskScheduled" and event["taskScheduledEventDetails"]["resource"] == "invoke":
                payload = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
                sent.setdefault(entered, []).append(shape(payload))
        yield cloud, sent


def test_every_event_file_is_covered():
    scheduled = ["sweep.json", "weekly_report.json"]
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted([*FUNCTION_EVENTS, *scheduled])


def test_the_report_functions_event_is_what_its_schedule_sends(swept):
    cloud, _sent = swept
    from localcloud.cloud import _scheduled_event

    rule = cloud.stack.physical_ids["WeeklyReportFunctionReport"]
    event = json.loads((EVENTS / "weekly_report.json").read_text())
    assert shape(event) == shape(_scheduled_event(cloud.stack.region, rule))
    assert "-WeeklyReportFunctionReport-" in event["resources"][0] and "-WeeklyReportFunctionReport-" in rule


@pytest.mark.parametrize("name", list(FUNCTION_EVENTS))
def test_each_event_is_the_payload_the_sweep_sends(swept, name):
    _cloud, sent = swept
    _folder, state = FUNCTION_EVENTS[name]
    event = shape(json.loads((EVENTS / name).read_text()))
    assert sent[state], f"the sweep never ran {state}"
    assert any(same_shape(event, payload) for payload in sent[state]), json.dumps([event, sent[state]], indent=1)


def test_the_state_machine_event_is_what_eventbridge_sends(swept):
    cloud, _sent = swept
    event = json.loads((EVENTS / "sweep.json").read_text())
    assert shape(event) == shape(_scheduled(cloud))
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    arn = sfn.start_execution(
        stateMachineArn=cloud.stack.state_machine_arn, name="sweep-from-event-file", input=json.dumps(event)
    )["executionArn"]
    status = _wait(sfn, arn)
    described = sfn.describe_execution(executionArn=arn)
    assert status == "SUCCEEDED", (described.get("error"), described.get("cause"))


def test_each_event_runs_through_its_handler_with_what_the_readme_says_it_needs(swept, lambda_context):
    events = {name: json.loads((EVENTS / name).read_text()) for name in FUNCTION_EVENTS}
    # What a deployed stack has: its bucket with the targets, evidence and errors of the events' sweep.
    bucket = events["summarize_sweep.json"]["evidenceBucket"]
    objects = json.loads(SWEEP_OBJECTS.read_text())
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    targets_key = events["summarize_sweep.json"]["targetsKey"]

    def put_sweep_objects() -> None:
        s3.put_object(Bucket=bucket, Key=targets_key, Body=json.dumps({"targets": objects["targets"], "skipped": []}))
        for key, body in objects["objects"].items():
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body))

    put_sweep_objects()

    def invoke(name: str) -> Any:
        return load_handler(FUNCTION_EVENTS[name][0])(events[name], lambda_context)

    # These handlers run on the real clock; the sweep's containers ran on the local cloud's scaled
    # one, so the pace they left lies minutes ahead: start from an idle pace, as between sweeps.
    cloud, _sent = swept
    pace = cloud.stack.physical_ids["ShodanPaceTable"]
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for item in dynamodb.scan(TableName=pace)["Items"]:
        dynamodb.delete_item(TableName=pace, Key={"pacer": item["pacer"]})

    listed = invoke("list_honeypot_ips.json")  # the stack's cluster and service (environment)
    assert listed["count"] == 3 and listed["targetsKey"] == "targets/sweep-20261125T010000-3f2a1c.json"
    assert len(json.loads(s3.get_object(Bucket=bucket, Key=targets_key)["Body"].read())["targets"]) == 3
    # Every local task started after the event's startedAfter (a time in the past).
    assert len(invoke("list_replacements.json")["ips"]) == 3
    # The lookup needs the key in SSM, the pace table and Shodan (here the local one, with nothing on these IPs).
    assert invoke("shodan_lookup.json")["verdict"] == "NOT_INDEXED"
    assert invoke("shodan_lookup_replacement.json")["verdict"] == "NOT_INDEXED"
    # InternetDB's lookup needs only the pace table (no key) and InternetDB (the local one: its 404).
    assert invoke("internetdb_lookup.json")["internetDb"] == {"verdict": "NOT_INDEXED", "ports": [], "tags": []}
    # Censys's lookup needs its token in SSM, the pace table (its pace and the month's budget) and
    # Censys (the local one: its 404).
    assert invoke("censys_lookup.json") == {"verdict": "NOT_INDEXED", "ports": [], "protocols": [], "tags": []}
    # The replacement IP carries a prior owner's honeypot tag: dirty, so the tracker stops it too.
    judged = invoke("track_rotation.json")
    assert (judged["next"], [t["ip"] for t in judged["toStop"]]) == ("stop", ["203.0.113.150"])
    put_sweep_objects()
    summary = invoke("summarize_sweep.json")
    assert summary["checked"] == 3 and summary["recordStored"] is True
    # The scan request needs ExperimentMode on (env), the key and the pace table: Shodan's receipt.
    assert invoke("request_shodan_scan.json")["count"] == 1
    # The alert sync needs the key, the pace and push tables and the webhook URL's parameter: the
    # event's IPs are not the local honeynet's, so the sweep's alert is edited to them.
    synced = invoke("sync_shodan_alert.json")
    assert (synced["status"], synced["monitored"]) == ("UPDATED", 3)
    [alert] = cloud.shodan.alerts()
    assert sorted(alert["filters"]["ip"]) == sorted(events["sync_shodan_alert.json"]["ips"])


def _scheduled(cloud: LocalCloud) -> dict[str, Any]:
    from localcloud.cloud import _scheduled_event

    return _scheduled_event(cloud.stack.region, cloud.stack.physical_ids["SweepStateMachineSweep"])


def _wait(sfn: Any, arn: str) -> str:
    import time

    for _ in range(3000):
        status = sfn.describe_execution(executionArn=arn)["status"]
        if status != "RUNNING":
            return status
        time.sleep(0.02)
    return "RUNNING"
