"""The sweep summary: what the researcher is told, and which tasks rotate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from localcloud.functions import FUNCTIONS_DIR, load_handler

sys.path.insert(0, str(FUNCTIONS_DIR / "summarize_sweep"))
from sweep_report import MAX_SUBJECT, InvalidSweepInput, should_rotate, summarize

EVENT = Path(__file__).resolve().parents[2] / "events" / "summarize_sweep.json"


def result(ip: str, verdict: str, **extra: object) -> dict:
    return {"ip": ip, "taskArn": f"arn:aws:ecs:us-east-1:1:task/c/{ip}", "verdict": verdict, **extra}


def test_nothing_found_means_no_email_and_no_rotation():
    summary = summarize(
        [result("192.0.2.1", "NOT_INDEXED"), result("192.0.2.2", "NOT_INDEXED")],
        rotate_on="indexed",
        execution="sweep-1",
        evidence_bucket="b",
    )
    assert summary.notify is False
    assert summary.rotate == []
    assert summary.to_json()["checked"] == 2


@pytest.mark.parametrize(
    ("rotate_on", "expected"),
    [("never", []), ("indexed", ["192.0.2.2", "192.0.2.3"]), ("fingerprinted", ["192.0.2.3"])],
)
def test_rotation_follows_rotate_on(rotate_on, expected):
    summary = summarize(
        [result("192.0.2.1", "NOT_INDEXED"), result("192.0.2.2", "INDEXED"), result("192.0.2.3", "FINGERPRINTED")],
        rotate_on=rotate_on,
        execution="sweep-1",
        evidence_bucket="b",
    )
    assert [o["ip"] for o in summary.to_json()["rotate"]] == expected
    for order in summary.rotate:
        assert order.task_arn.endswith(order.ip)
        assert "sweep-1" in order.reason and rotate_on in order.reason


def test_extra_ips_without_a_task_are_never_rotated():
    summary = summarize(
        [{"ip": "192.0.2.9", "verdict": "FINGERPRINTED"}], rotate_on="indexed", execution="s", evidence_bucket="b"
    )
    assert summary.notify is True
    assert summary.rotate == []


def test_email_lists_each_exposed_ip_with_verdict_ports_tags_and_evidence_key():
    summary = summarize(
        [
            result(
                "198.51.100.23",
                "FINGERPRINTED",
                ports=[502, 102],
                tags=["honeypot", "ics"],
                honeyscore=1.0,
                evidenceKey="evidence/198.51.100.23/sweep-7.json",
                evidence={"stored": True, "eTag": '"x"'},
            )
        ],
        rotate_on="fingerprinted",
        execution="sweep-7",
        evidence_bucket="bucket-1",
    )
    body = summary.message
    assert "198.51.100.23  FINGERPRINTED" in body
    assert "102, 502" in body
    assert "honeypot, ics" in body
    assert "s3://bucket-1/evidence/198.51.100.23/sweep-7.json" in body
    assert "Rotating (RotateOn=fingerprinted)" in body
    assert summary.subject == "ICS honeynet: 1 honeypot IP on Shodan (1 fingerprinted), rotating 1"


def test_evidence_that_failed_to_store_is_said_in_the_email():
    summary = summarize(
        [result("192.0.2.5", "INDEXED", evidence={"Error": "S3.AccessDenied", "Cause": "denied"})],
        rotate_on="never",
        execution="s",
        evidence_bucket="b",
    )
    assert "NOT STORED (S3.AccessDenied: denied)" in summary.message


def test_lookup_errors_are_reported_not_dropped():
    summary = summarize(
        [result("192.0.2.6", "ERROR", error="ShodanUnavailableError", cause="timed out")],
        rotate_on="indexed",
        execution="s",
        evidence_bucket="b",
    )
    assert summary.notify is True
    assert summary.rotate == []
    assert "192.0.2.6  ShodanUnavailableError: timed out" in summary.message
    assert summary.subject == "ICS honeynet: 1 not checked"


def test_subject_fits_sns_limit():
    many = [result(f"192.0.2.{i}", "FINGERPRINTED") for i in range(200)]
    errors = [result(f"198.51.100.{i}", "ERROR") for i in range(200)]
    summary = summarize(many + errors, rotate_on="indexed", execution="s", evidence_bucket="b")
    assert len(summary.subject) <= MAX_SUBJECT


def test_bad_input_is_a_clear_error():
    with pytest.raises(InvalidSweepInput, match="rotateOn must be one of"):
        summarize([], rotate_on="always", execution="s", evidence_bucket="b")
    with pytest.raises(InvalidSweepInput, match="no 'ip'"):
        summarize([{"verdict": "INDEXED"}], rotate_on="never", execution="s", evidence_bucket="b")


def test_should_rotate_table():
    assert should_rotate("INDEXED", "indexed") and should_rotate("FINGERPRINTED", "indexed")
    assert not should_rotate("INDEXED", "fingerprinted") and should_rotate("FINGERPRINTED", "fingerprinted")
    assert not should_rotate("FINGERPRINTED", "never") and not should_rotate("ERROR", "indexed")


def test_event_file_through_the_handler(lambda_context):
    handler = load_handler("summarize_sweep")
    out = handler(json.loads(EVENT.read_text()), lambda_context)
    assert out["notify"] is True
    assert out["exposedCount"] == 1 and out["fingerprintedCount"] == 1 and out["errorCount"] == 1
    [order] = out["rotate"]
    assert order["ip"] == "198.51.100.23"
    assert order["taskArn"].endswith("/1a2b3c4d5e6f70819293a4b5c6d7e8f9")
    assert order["reason"] == (
        "ics-honeynet sweep sweep-20261125T010000-3f2a1c: 198.51.100.23 is FINGERPRINTED on Shodan "
        "(RotateOn=fingerprinted)"
    )
    assert "task is PROVISIONING" in out["message"]
    json.dumps(out)  # the state machine needs JSON


def test_the_sweep_record_holds_every_result_and_skipped_task():
    results = [result("192.0.2.1", "NOT_INDEXED"), result("192.0.2.2", "ERROR", error="ShodanResponseError")]
    skipped = [{"taskArn": "arn:t", "reason": "no network interface attached yet"}]
    summary = summarize(
        results,
        rotate_on="never",
        execution="sweep-9",
        evidence_bucket="b",
        skipped=skipped,
        record_key="sweeps/sweep-9.json",
        sweep_started_at="2026-11-25T01:00:00Z",
    )
    out = summary.to_json()
    assert out["recordKey"] == "sweeps/sweep-9.json"
    assert out["record"]["results"] == results and out["record"]["skipped"] == skipped
    assert out["record"]["sweepStartedAt"] == "2026-11-25T01:00:00Z"
    assert "s3://b/sweeps/sweep-9.json" in summary.message
