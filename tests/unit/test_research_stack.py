"""The report on a deployed stack: tenures from the exposure table, events from the research
bucket, through `python -m ics_honeynet report --stack` (moto stands in for the account)."""

from __future__ import annotations

import io
import json
import re
import socket
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ics_honeynet.__main__ import parser
from ics_honeynet.contracts import format_utc
from ics_honeynet.exposure_history import IpHistory, TenureRecord
from ics_honeynet.history_store import write_histories
from ics_honeynet.research import cli, scenario, stack_data
from ics_honeynet.research.files import read_lines
from ics_honeynet.research.model import Tenure
from ics_honeynet.research.report import run_report

REGION, TABLE, BUCKET = "us-east-1", "exposure", "research"


def without_private_ip(tenures):
    """The table keeps no private IP (attribution falls back to it only when Conpot had no public IP)."""
    return [replace(t, private_ip=None) for t in tenures]


def history_of(tenures: list[Tenure]) -> IpHistory:
    """One IP's item as the sweeps leave it: the last tenure current, the others archived."""
    *past, current = sorted(tenures, key=lambda t: t.started)

    def record(t: Tenure) -> TenureRecord:
        return TenureRecord(
            task_arn=t.task_arn, started=format_utc(t.started),
            first_indexed=t.first_indexed and format_utc(t.first_indexed),
            first_fingerprinted=t.first_fingerprinted and format_utc(t.first_fingerprinted),
            rotated_at=t.rotated and format_utc(t.rotated), last_seen=format_utc(t.rotated or t.started),
        )  # fmt: skip

    now = record(current)
    return IpHistory(
        ip=current.honeypot_ip, task_arn=now.task_arn, first_seen_running=now.started,
        first_indexed=now.first_indexed, first_fingerprinted=now.first_fingerprinted,
        last_rotated_at=now.rotated_at, last_checked=now.last_seen, past_tenures=tuple(record(t) for t in past),
    )  # fmt: skip


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        dynamodb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "ip", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "ip", "KeyType": "HASH"}],
        )  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        template = {
            "Resources": {"Nothing": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"ExposureTableName": {"Value": TABLE}, "ResearchDataBucketName": {"Value": BUCKET}},
        }
        boto3.client("cloudformation").create_stack(StackName="honeynet", TemplateBody=json.dumps(template))
        yield dynamodb, s3


def upload(s3, world: scenario.Scenario, tmp_path: Path) -> None:
    for path in world.write_event_files(tmp_path / "copy"):
        key = path.relative_to(tmp_path / "copy").as_posix()
        s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())


def test_tenures_round_trip_through_the_exposure_table(account):
    dynamodb, _ = account
    world = scenario.generate(scenario.default_spec(), seed=3)
    # Two earlier tenures on the first IP: one rotated away, one that crashed (seen last, no rotation).
    first = world.tenures[0]
    # An experiment's tenure: its arm and assignment reach the report.
    crashed_arm = {"arm": "control", "arm_assigned_at": "2026-02-20T00:00:00+00:00"}
    crashed = TenureRecord(
        **crashed_arm, task_arn="t/crashed", started="2026-02-20T00:00:00+00:00", last_seen="2026-02-21T00:00:00+00:00"
    )
    rotated = TenureRecord(task_arn="t/rotated", started="2026-02-22T00:00:00+00:00",
                           rotated_at="2026-02-23T00:00:00+00:00", last_seen="2026-02-23T00:00:00+00:00")  # fmt: skip
    histories = [history_of([t]) for t in world.tenures]
    histories[0] = IpHistory(**{**histories[0].__dict__, "past_tenures": (crashed, rotated)})
    extra = IpHistory(ip="192.0.2.200", first_seen_running="2026-03-02T00:00:00+00:00")  # outside the stack
    write_histories(dynamodb, TABLE, [*histories, extra])

    tenures = stack_data.read_tenures(dynamodb, TABLE)
    assert set(tenures) >= set(without_private_ip(world.tenures))
    on_first_ip = [t for t in tenures if t.honeypot_ip == first.honeypot_ip]
    assert [(t.task_arn, t.rotated, t.ended) for t in on_first_ip[:2]] == [
        ("t/crashed", None, Tenure.of("x", "x", "2026-02-21T00:00:00+00:00").started),
        ("t/rotated", Tenure.of("x", "x", "2026-02-23T00:00:00+00:00").started, None),
    ]
    assert on_first_ip[0].arm == "control" and on_first_ip[0].assigned == on_first_ip[0].started
    assert on_first_ip[1].arm is None and on_first_ip[1].assigned is None
    assert len(tenures) == len(world.tenures) + 2  # the extra IP has no tenure of ours


def test_the_report_command_reads_the_stack_and_matches_the_files(account, tmp_path, monkeypatch):
    dynamodb, s3 = account
    world = scenario.generate(scenario.default_spec(bad_lines=3), seed=5)
    write_histories(dynamodb, TABLE, [history_of([t]) for t in world.tenures])
    upload(s3, world, tmp_path)
    monkeypatch.setattr(socket, "gethostbyaddr", lambda ip: (world.resolver(ip) or _no_ptr(ip), [], [ip]))
    until = format_utc(world.until)
    args = parser().parse_args(
        [
            "report",
            "--stack",
            "honeynet",
            "--since",
            format_utc(world.since),
            "--until",
            until,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    stderr = io.StringIO()
    assert cli.run(args, stderr=stderr) == 0
    written = json.loads((tmp_path / "out" / "research-report.json").read_text())
    # The same numbers as the report over the local copy of the files.
    tenures = without_private_ip(world.tenures)
    local = run_report(read_lines(tmp_path / "copy"), tenures, since=world.since, until=world.until,
                       resolver=world.resolver).to_json()  # fmt: skip
    assert written["input"] == local["input"] and written["input"]["bad"] == 3
    assert written["comparisons"] == local["comparisons"]
    assert (tmp_path / "out" / "research-report.png").stat().st_size > 10_000
    assert "files" in stderr.getvalue() and "event file(s) from s3://research" in stderr.getvalue()


def _no_ptr(ip: str) -> str:
    raise socket.herror(1, f"no PTR for {ip}")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--stack", "missing"], "stack missing not found"),
        (["--stack", "honeynet", "--since", "yesterday"], "not a time: 'yesterday'"),
        (["--stack", "honeynet", "--since", "1h", "--until", "2d"], "must be before --until"),
    ],
)
def test_the_report_command_refuses_clearly(account, argv, expected):
    stderr = io.StringIO()
    args = parser().parse_args(["report", *argv])
    assert cli.run(args, stderr=stderr) == 2
    assert expected in stderr.getvalue()


def test_the_report_reads_the_day_folders_the_templates_firehose_writes():
    from datetime import date

    from ics_honeynet.research.files import day_prefix

    template = (Path(__file__).resolve().parents[2] / "template.yaml").read_text()
    [prefix] = re.findall(r'^\s+Prefix: "(events/conpot/[^"]*)"', template, flags=re.M)
    day = date(2026, 3, 7)
    rendered = prefix.replace("!{timestamp:yyyy}", "2026").replace("!{timestamp:MM}", "03")
    assert rendered.replace("!{timestamp:dd}", "07") == day_prefix(day)
