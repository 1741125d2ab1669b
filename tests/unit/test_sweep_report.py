"""The sweep summary: each IP's history folded forward, and an email only for changes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ics_honeynet.exposure_history import IpHistory, record_check
from ics_honeynet.sweep_report import MAX_SUBJECT, InvalidSweepInput, describe_failure, summarize
from localcloud.functions import load_handler

EVENT = Path(__file__).resolve().parents[2] / "events" / "summarize_sweep.json"
# What the sweep's earlier steps left in S3 for that event: the targets and one batch's results.
SWEEP_OBJECTS = Path(__file__).resolve().parents[1] / "fixtures" / "summarize_sweep_s3.json"
T0, T1 = "2026-11-25T01:00:00+00:00", "2026-11-25T13:00:00+00:00"


def result(ip: str, verdict: str, **extra: object) -> dict:
    return {"ip": ip, "taskArn": f"arn:aws:ecs:us-east-1:1:task/c/{ip}", "verdict": verdict, **extra}


def sweep(results, histories=None, **kwargs):
    defaults = {"rotate_on": "never", "execution": "sweep-1", "evidence_bucket": "b", "checked_at": T1}
    return summarize(results, histories={} if histories is None else histories, **(defaults | kwargs))


def seen(ip: str, verdict: str, at: str = T0) -> IpHistory:
    history, _ = record_check(None, result(ip, verdict), checked_at=at, execution="sweep-0")
    return history


# -- changes ---------------------------------------------------------------------------------
def test_nothing_indexed_is_no_change_and_no_email():
    summary = sweep([result("192.0.2.1", "NOT_INDEXED"), result("192.0.2.2", "NOT_INDEXED")])
    assert summary.notify is False and summary.changes == []
    assert summary.subject == "ICS honeynet: no change"
    assert summary.histories["192.0.2.1"].last_verdict == "NOT_INDEXED"


def test_first_indexed_and_first_fingerprinted_are_changes_once():
    first = sweep([result("192.0.2.1", "INDEXED"), result("192.0.2.2", "FINGERPRINTED")])
    assert [c.kind for c in first.changes] == ["NEWLY_FINGERPRINTED", "NEWLY_INDEXED"]
    assert first.subject == "ICS honeynet: 1 newly fingerprinted, 1 newly on Shodan"
    again = sweep([result("192.0.2.1", "INDEXED"), result("192.0.2.2", "FINGERPRINTED")], first.histories)
    assert again.notify is False
    assert again.histories["192.0.2.1"].first_indexed == T1  # kept from the first sweep
    # Indexed -> fingerprinted later is news again.
    later = sweep([result("192.0.2.1", "FINGERPRINTED")], {"192.0.2.1": seen("192.0.2.1", "INDEXED")})
    assert [c.kind for c in later.changes] == ["NEWLY_FINGERPRINTED"]
    assert later.histories["192.0.2.1"].first_indexed == T0 and later.histories["192.0.2.1"].first_fingerprinted == T1


def test_a_new_task_on_a_known_ip_starts_a_new_tenure():
    old = seen("192.0.2.1", "FINGERPRINTED")
    recycled = dict(result("192.0.2.1", "INDEXED"), taskArn="arn:aws:ecs:us-east-1:1:task/c/new", startedAt=T0)
    summary = sweep([recycled], {"192.0.2.1": IpHistory(**{**old.__dict__, "rotations": 2})})
    [change] = summary.changes
    assert change.kind == "NEWLY_INDEXED"
    history = summary.histories["192.0.2.1"]
    assert history.task_arn.endswith("/new") and history.first_fingerprinted is None and history.rotations == 2
    assert history.first_seen_running == T0


def test_internetdbs_opinion_is_kept_shown_and_news_once_per_tenure_without_changing_the_verdict():
    quiet, listed = {"verdict": "NOT_INDEXED"}, {"verdict": "INDEXED", "ports": [102, 502], "tags": ["ics"]}
    first = sweep(
        [result("192.0.2.1", "INDEXED", internetDb=quiet), result("192.0.2.2", "NOT_INDEXED", internetDb=listed)]
    )
    # Shodan's API says one thing, InternetDB (weekly, no dates) another: both kept, neither changed.
    assert [f.verdict for f in first.findings] == ["INDEXED", "NOT_INDEXED"]
    assert [c.kind for c in first.changes] == ["NEWLY_INDEXED", "NEWLY_IN_INTERNETDB"]
    assert first.subject == "ICS honeynet: 1 newly on Shodan, 1 newly in InternetDB"
    assert "    InternetDB: NOT_INDEXED\n" in first.message
    assert "- 192.0.2.2  InternetDB: INDEXED (ports 102, 502; tags ics)  (Shodan's API: NOT_INDEXED)" in first.message
    assert first.record["results"][1]["internetDb"] == listed and first.record["shodanEngine"] == "api"
    history = first.histories["192.0.2.2"]
    assert (history.last_verdict, history.last_internetdb_verdict, history.internetdb_first_indexed) == (
        "NOT_INDEXED", "INDEXED", T1)  # fmt: skip
    assert history.to_item()["internetDbFirstIndexed"] == T1
    again = sweep([result("192.0.2.2", "NOT_INDEXED", internetDb=listed)], first.histories)
    assert again.changes == [] and again.notify is False
    # Its error is the engine's, no change; the last verdict says it.
    error = {"verdict": "ERROR", "error": "InternetDbUnavailableError"}
    failed = sweep([result("192.0.2.2", "NOT_INDEXED", internetDb=error)], first.histories)
    assert failed.changes == [] and failed.histories["192.0.2.2"].last_internetdb_verdict == "ERROR"
    assert failed.histories["192.0.2.2"].internetdb_first_indexed == T1


def test_with_internetdb_as_the_engine_its_verdict_is_the_checks_and_said_once():
    listed = {"verdict": "FINGERPRINTED", "ports": [502], "tags": ["honeypot"]}
    summary = sweep(
        [result("192.0.2.3", "FINGERPRINTED", engine="internetdb", internetDb=listed, ports=[502], tags=["honeypot"])],
        shodan_engine="internetdb",
    )
    assert [c.kind for c in summary.changes] == ["NEWLY_FINGERPRINTED"]  # not "newly in InternetDB" again
    assert summary.record["shodanEngine"] == "internetdb"
    assert "Verdicts by Shodan InternetDB alone (ShodanEngine=internetdb: no Shodan API key)" in summary.message
    assert "    InternetDB:" not in summary.message  # no second opinion beside its own verdict
    assert "    honeyscore: not asked (InternetDB gives none)" in summary.message
    with pytest.raises(InvalidSweepInput, match="shodanEngine"):
        sweep([], shodan_engine="censys")


def test_a_failing_check_is_news_once_and_keeps_the_last_verdict():
    failing = result("192.0.2.6", "ERROR", error="ShodanUnavailableError", cause="timed out")
    first = sweep([failing], {"192.0.2.6": seen("192.0.2.6", "INDEXED")})
    assert [c.kind for c in first.changes] == ["CHECK_FAILING"]
    assert first.subject == "ICS honeynet: 1 not checked"
    assert "192.0.2.6  ShodanUnavailableError: timed out" in first.message
    history = first.histories["192.0.2.6"]
    assert history.last_verdict == "INDEXED" and history.last_error == "ShodanUnavailableError"
    assert sweep([failing], first.histories).notify is False
    recovered = sweep([result("192.0.2.6", "INDEXED")], first.histories)
    assert recovered.notify is False and recovered.histories["192.0.2.6"].last_error is None


def test_without_history_every_finding_is_reported_as_new():
    summary = summarize(
        [result("192.0.2.1", "INDEXED")],
        rotate_on="never",
        execution="s",
        evidence_bucket="b",
        checked_at=T1,
        histories=None,
        history_error="reading t: ClientError",
    )
    assert [c.kind for c in summary.changes] == ["NEWLY_INDEXED"]
    assert "Exposure history unavailable (reading t: ClientError)" in summary.message


# -- the Shodan alert (SyncShodanAlert's reply) -------------------------------------------------
def test_ips_over_the_shodan_monitor_limit_are_emailed_when_they_change_and_recorded_always():
    over = {"status": "CREATED", "alertId": "A1", "monitored": 16, "unmonitored": ["192.0.2.17"],
            "unmonitoredChanged": True, "limit": 16}  # fmt: skip
    quiet = [result("192.0.2.1", "NOT_INDEXED")]
    first = sweep(quiet, shodan_alert=over)
    assert first.notify is True and first.changes == []
    assert first.subject == "ICS honeynet: 1 IP(s) over the Shodan Monitor limit"
    assert "Shodan Monitor watches 16 honeypot IP(s), your plan's limit (16 monitored IPs)" in first.message
    assert "- 192.0.2.17" in first.message and first.record["shodanAlert"] == over
    again = sweep(quiet, first.histories, shodan_alert={**over, "status": "UNCHANGED", "unmonitoredChanged": False})
    assert again.notify is False and again.record["shodanAlert"]["unmonitored"] == ["192.0.2.17"]
    failed = sweep(quiet, first.histories, shodan_alert={"status": "NOT_SYNCED", "error": "ShodanUnavailableError"})
    assert failed.notify is False and failed.record["shodanAlert"]["status"] == "NOT_SYNCED"


# -- rotations -------------------------------------------------------------------------------
def chain(status: str, **extra: object) -> dict:
    return {"from": "192.0.2.9", "fromTask": "arn:aws:ecs:us-east-1:1:task/c/192.0.2.9", "status": status, **extra}


def test_a_rotation_moves_the_history_to_the_new_ip():
    histories = {"192.0.2.9": IpHistory(**{**seen("192.0.2.9", "FINGERPRINTED").__dict__, "rotations": 1})}
    rotated = chain(
        "ROTATED",
        to="203.0.113.5",
        toTask="arn:t/new",
        toStartedAt=T1,
        toVerdict="NOT_INDEXED",
        via=["203.0.113.4"],
        attempts=2,
    )
    summary = sweep([result("192.0.2.9", "FINGERPRINTED")], histories, rotation=[rotated], rotate_on="fingerprinted")
    assert [c.kind for c in summary.changes] == ["ROTATED"]
    assert summary.histories["192.0.2.9"].replaced_by == "203.0.113.5"
    assert summary.histories["192.0.2.9"].rotations == 1
    new = summary.histories["203.0.113.5"]
    assert new.task_arn == "arn:t/new" and new.last_verdict == "NOT_INDEXED" and new.first_seen_running == T1
    assert "- 192.0.2.9 -> 203.0.113.5  (2 attempts; skipped dirty IP(s) 203.0.113.4)" in summary.message
    assert "Still on Shodan, unchanged" not in summary.message


def test_a_rotation_the_lifetime_count_missed_says_so_in_the_email():
    rotated = chain("ROTATED", to="203.0.113.5", toTask="arn:t/new", toStartedAt=T1, toVerdict="NOT_INDEXED",
                    via=[], attempts=1, uncounted=1)  # fmt: skip
    summary = sweep([result("192.0.2.9", "FINGERPRINTED")], {}, rotation=[rotated], rotate_on="fingerprinted")
    line = "- 192.0.2.9 -> 203.0.113.5  (the exposure table's lifetime rotation count missed 1 of these stops)"
    assert line in summary.message.splitlines()


def test_a_failed_rotation_is_alerted_with_its_reason():
    failed = chain("FAILED", reason="no replacement task with a public IP within 300 s", attempts=1)
    summary = sweep(
        [result("192.0.2.9", "FINGERPRINTED")],
        {"192.0.2.9": seen("192.0.2.9", "FINGERPRINTED")},
        rotation=[failed],
        rotate_on="fingerprinted",
    )
    assert summary.subject == "ICS honeynet: 1 rotation(s) failed"
    assert "- 192.0.2.9: no replacement task with a public IP within 300 s" in summary.message
    assert "Still on Shodan, unchanged (1):" in summary.message


# -- the email and the record ----------------------------------------------------------------
def test_email_lists_each_new_finding_with_verdict_ports_tags_and_evidence_key():
    summary = sweep(
        [
            result(
                "198.51.100.23",
                "FINGERPRINTED",
                ports=[502, 102],
                tags=["honeypot", "ics"],
                honeyscore=1.0,
                evidenceKey="evidence/198.51.100.23/sweep-7.json",
                evidence={"stored": True, "eTag": '"x"'},
            ),
            result("192.0.2.5", "INDEXED", evidence={"Error": "S3.AccessDenied", "Cause": "denied"}),
        ],
        execution="sweep-7",
        evidence_bucket="bucket-1",
    )
    body = summary.message
    assert body.startswith("Shodan sweep sweep-7: 2 honeypot IP(s) checked; first sweep of these IPs, 2 finding(s).")
    assert (
        "Newly fingerprinted as a honeypot:\n- 198.51.100.23  FINGERPRINTED\n"
        f"    task:       {result('198.51.100.23', '')['taskArn']}\n"
        "    on Shodan:  https://www.shodan.io/host/198.51.100.23\n"
    ) in body
    assert "    on Shodan:  https://www.shodan.io/host/192.0.2.5\n" in body
    assert "102, 502" in body and "honeypot, ics" in body
    assert "s3://bucket-1/evidence/198.51.100.23/sweep-7.json" in body
    assert "NOT STORED (S3.AccessDenied: denied)" in body


def test_the_headline_counts_only_ips_checked_and_says_since_the_last_sweep_only_after_one():
    failing = [result("192.0.2.1", "ERROR", error="ShodanUnavailableError", cause="timed out")]
    assert sweep(failing).message.startswith(
        "Shodan sweep sweep-1: none of 1 honeypot IP(s) could be checked; first sweep of these IPs, 1 finding(s)."
    )
    known = {"192.0.2.2": seen("192.0.2.2", "NOT_INDEXED")}
    mixed = [*failing, result("192.0.2.2", "INDEXED")]
    assert sweep(mixed, known).message.startswith(
        "Shodan sweep sweep-1: 1 of 2 honeypot IP(s) checked, 1 could not be; 2 change(s) since the last sweep."
    )
    # The table could not be read: no claim about a first sweep.
    unreadable = summarize(
        mixed, histories=None, history_error="reading t: X", rotate_on="never", execution="sweep-1",
        evidence_bucket="b", checked_at=T1,
    )  # fmt: skip
    assert unreadable.message.startswith(
        "Shodan sweep sweep-1: 1 of 2 honeypot IP(s) checked, 1 could not be; 2 change(s) since the last sweep."
    )


def test_extra_ips_are_labelled_and_every_exposed_ip_links_to_its_shodan_page():
    extra = {"ip": "198.51.100.77", "taskArn": None, "verdict": "FINGERPRINTED", "tags": ["honeypot"]}
    still = {"ip": "198.51.100.78", "taskArn": None, "verdict": "INDEXED"}
    failing = {"ip": "198.51.100.79", "taskArn": None, "verdict": "ERROR", "error": "ShodanResponseError"}
    known = {"198.51.100.78": IpHistory(ip="198.51.100.78", first_indexed=T0, last_verdict="INDEXED")}
    body = sweep([extra, still, failing], known).message
    assert (
        "Newly fingerprinted as a honeypot:\n"
        "- 198.51.100.77  FINGERPRINTED  [extra IP]\n"
        "    task:       extra IP (ExtraHoneypotIps: outside this stack, never rotated)\n"
        "    on Shodan:  https://www.shodan.io/host/198.51.100.77\n"
    ) in body
    assert "- 198.51.100.79  [extra IP]  ShodanResponseError\n" in body
    assert (
        "Still on Shodan, unchanged (1):\n- 198.51.100.78  INDEXED  [extra IP]  https://www.shodan.io/host/198.51.100.78\n"
    ) in body


def test_an_unavailable_honeyscore_is_unknown_in_the_email_the_record_and_the_history():
    unknown = {"honeyscore": None, "honeyscoreStatus": "UNAVAILABLE", "honeyscoreError": "ShodanRateLimitError: slow"}
    first = sweep([result("192.0.2.7", "INDEXED", **unknown), result("192.0.2.8", "INDEXED", honeyscore=0.2,
                                                                      honeyscoreStatus="SCORED")])  # fmt: skip
    assert "honeyscore: UNKNOWN - Shodan did not answer (ShodanRateLimitError: slow); asked again next sweep" in (
        first.message
    )
    assert "honeyscore: 0.2" in first.message
    assert first.record["results"][0]["honeyscoreStatus"] == "UNAVAILABLE"
    assert first.histories["192.0.2.7"].to_item()["lastHoneyscoreStatus"] == "UNAVAILABLE"
    assert first.histories["192.0.2.8"].to_item()["lastHoneyscoreStatus"] == "SCORED"
    no_score = sweep([result("192.0.2.9", "INDEXED", honeyscore=None, honeyscoreStatus="NO_SCORE")])
    assert "honeyscore: none (Shodan gives no honeyscore for this IP)" in no_score.message
    # Still exposed and still unknown: no new email, but whenever one goes out it says so.
    again = sweep(
        [result("192.0.2.7", "INDEXED", **unknown), result("192.0.2.6", "FINGERPRINTED")],
        first.histories,
    )
    assert "- 192.0.2.7  INDEXED  (honeyscore UNKNOWN: Shodan did not answer)" in again.message


def test_subject_fits_sns_limit():
    many = [result(f"192.0.2.{i}", "FINGERPRINTED") for i in range(200)]
    errors = [result(f"198.51.100.{i}", "ERROR") for i in range(200)]
    failed = [chain("FAILED", reason="x")]
    subject = sweep(many + errors, rotation=failed).subject
    assert len(subject) <= MAX_SUBJECT == 99
    assert subject.isascii() and "\n" not in subject


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidSweepInput, match="rotateOn must be one of"):
        sweep([], rotate_on="always")
    with pytest.raises(InvalidSweepInput, match="no 'ip'"):
        sweep([{"verdict": "INDEXED"}])


def test_the_sweep_record_holds_every_result_change_and_skipped_task():
    results = [result("192.0.2.1", "NOT_INDEXED"), result("192.0.2.2", "ERROR", error="ShodanResponseError")]
    skipped = [{"taskArn": "arn:t", "reason": "no network interface attached yet"}]
    summary = sweep(results, skipped=skipped, record_key="sweeps/sweep-9.json", sweep_started_at=T0)
    out = summary.to_json()
    assert out["recordKey"] == "sweeps/sweep-9.json"
    assert summary.record["results"] == results and summary.record["skipped"] == skipped
    assert summary.record["changes"] == [
        {
            "kind": "CHECK_FAILING",
            "ip": "192.0.2.2",
            "lastChecked": T1,
            "taskArn": results[1]["taskArn"],
            "error": "ShodanResponseError",
            "cause": None,
        }
    ]
    assert summary.record["sweepStartedAt"] == T0 and out["changes"]["CHECK_FAILING"] == 1
    assert "s3://b/sweeps/sweep-9.json" in summary.message


# -- the handler, with the exposure table in moto --------------------------------------------
@pytest.fixture
def exposure_table(monkeypatch):
    monkeypatch.setenv("EXPOSURE_TABLE", "exposure")
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="exposure",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "ip", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "ip", "KeyType": "HASH"}],
        )
        event, objects = json.loads(EVENT.read_text()), json.loads(SWEEP_OBJECTS.read_text())
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=event["evidenceBucket"])
        targets = {"targets": objects["targets"], "skipped": objects["skipped"]}
        s3.put_object(Bucket=event["evidenceBucket"], Key=event["targetsKey"], Body=json.dumps(targets))
        for key, body in objects["objects"].items():
            s3.put_object(Bucket=event["evidenceBucket"], Key=key, Body=json.dumps(body))
        yield boto3.client("dynamodb")


_containers = itertools.count(1000)


def summarize_handler():
    """A cold container of SummarizeSweep: its recorder (built at import, from EXPOSURE_TABLE) is
    this test's, whatever an earlier test (the local cloud's, container 0) imported."""
    return load_handler("summarize_sweep", next(_containers))


def stored_record(event: dict) -> dict:
    return json.loads(
        boto3.client("s3").get_object(Bucket=event["evidenceBucket"], Key=event["recordKey"])["Body"].read()
    )


def test_event_file_through_the_handler_writes_history_and_alerts_once(exposure_table, lambda_context):
    handler = summarize_handler()
    event = json.loads(EVENT.read_text())
    out = handler(event, lambda_context)
    json.dumps(out)  # the state machine needs JSON
    assert out["recordStored"] is True and "record" not in out  # the record goes to S3, not the state
    record = stored_record(event)
    assert [r["verdict"] for r in record["results"]] == ["NOT_INDEXED", "FINGERPRINTED", "ERROR"]
    assert out["notify"] is True and out["changes"]["NEWLY_FINGERPRINTED"] == 1 and out["changes"]["ROTATED"] == 1
    assert "- 198.51.100.23 -> 203.0.113.200\n" in out["message"]
    assert "task is PROVISIONING" in out["message"]
    items = exposure_table.scan(TableName="exposure")["Items"]
    assert {i["ip"]["S"] for i in items} == {"203.0.113.10", "198.51.100.23", "192.0.2.77", "203.0.113.200"}
    again = handler(event | {"rotation": {"outcome": []}}, lambda_context)
    assert again["notify"] is False  # the same findings a second time are not news


def test_the_handler_alerts_rather_than_fails_when_the_table_is_unreachable(exposure_table, lambda_context):
    exposure_table.delete_table(TableName="exposure")
    out = summarize_handler()(json.loads(EVENT.read_text()), lambda_context)
    assert out["notify"] is True and "Exposure history unavailable" in out["message"]
    # Nothing written back: items rebuilt without their past would erase earlier tenures and arms.
    written = stored_record(json.loads(EVENT.read_text()))["historyWriteError"]
    assert written.startswith("not written: the table could not be read") and "ResourceNotFoundException" in written


def test_a_check_without_an_entry_or_a_readable_object_still_accounts_for_its_ip(exposure_table, lambda_context):
    event = json.loads(EVENT.read_text())
    event["checks"] = event["checks"][:2]  # the third IP's entry is missing
    event["checks"][1]["evidenceKey"] = "evidence/gone.json"  # and the second's evidence is gone
    out = summarize_handler()(event, lambda_context)
    results = stored_record(event)["results"]
    assert [(r["verdict"], r.get("error")) for r in results] == [
        ("NOT_INDEXED", None), ("FINGERPRINTED", None), ("ERROR", "NoResult")]  # fmt: skip
    assert results[1]["evidence"] == {"stored": True, "readError": "NoSuchKey"}
    # InternetDB's verdict, kept in the entry, is still an opinion (the evidence had the rest).
    assert [r.get("internetDb") for r in results] == [{"verdict": "NOT_INDEXED"}] * 2 + [None]
    assert out["errorCount"] == 1 and out["changes"]["CHECK_FAILING"] == 1


def test_a_failed_checks_cause_is_read_and_parsed_before_it_is_shortened(exposure_table, lambda_context):
    # What the ASL's StoreCheckError keeps: the Lambda error's Cause, JSON with a long stack trace.
    message = "Shodan answered HTTP 500: Internal server error"
    trace = [f'  File "/var/task/app.py", line {n}, in check\n' for n in range(40)]
    cause = json.dumps({"errorMessage": message, "errorType": "ShodanUnavailableError", "stackTrace": trace})
    event = json.loads(EVENT.read_text())
    error_key = event["checks"][2]["errorKey"]
    boto3.client("s3").put_object(
        Bucket=event["evidenceBucket"],
        Key=error_key,
        Body=json.dumps({"Error": "ShodanUnavailableError", "Cause": cause}),
    )
    out = summarize_handler()(event, lambda_context)
    failed = stored_record(event)["results"][2]
    assert (failed["cause"], failed["errorKey"], failed["failure"]) == (message, error_key, {"stored": True})
    assert f"ShodanUnavailableError: {message}" in out["message"] and "errorMessage" not in out["message"]


def test_a_record_s3_refuses_is_reported_not_raised(exposure_table, lambda_context):
    event = json.loads(EVENT.read_text())
    bucket = event["evidenceBucket"]
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/sweeps/*"}
    boto3.client("s3").put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    out = summarize_handler()(event, lambda_context)
    assert out["recordStored"] is False and "PutObject operation: Forbidden" in out["recordError"]
    assert out["notify"] is True  # the alert still goes out; the state machine then fails the sweep


def test_an_aborted_rotation_is_alerted_even_without_other_changes():
    summary = sweep(
        [result("192.0.2.9", "FINGERPRINTED")],
        {"192.0.2.9": seen("192.0.2.9", "FINGERPRINTED")},
        rotate_on="fingerprinted",
        rotation_error="HoneynetApiError: listing the honeynet's tasks failed",
    )
    assert summary.notify is True and summary.subject == "ICS honeynet: rotation aborted"
    assert "Rotation ABORTED: HoneynetApiError: listing the honeynet's tasks failed" in summary.message
    assert summary.record["rotationError"].startswith("HoneynetApiError")


def test_a_catch_failure_is_described_in_one_line():
    cause = json.dumps({"errorMessage": "ECS said no", "errorType": "HoneynetApiError", "stackTrace": ["..."]})
    assert describe_failure({"Error": "HoneynetApiError", "Cause": cause}) == "HoneynetApiError: ECS said no"
    assert describe_failure({"Error": "States.Timeout", "Cause": "plain text"}) == "States.Timeout: plain text"
    assert describe_failure(None) is None
