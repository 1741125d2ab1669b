"""contracts.py is the one definition of what crosses the state machine's boundaries: the ASL
(which compares and builds the same values) and the template must agree with it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ics_honeynet import contracts
from ics_honeynet.contracts import (
    AlertSyncStatus,
    Arm,
    ChainStatus,
    ChangeKind,
    NotAsked,
    RotateOn,
    RotationStep,
    ScanOutcome,
    ShodanEngine,
    Verdict,
    error_key,
    evidence_key,
    format_utc,
    parse_utc,
    sweep_record_key,
    targets_key,
)
from localcloud.sam import load_template

ROOT = Path(__file__).resolve().parents[2]


def asl_text() -> str:
    """The state machine's definition, wherever the template's DefinitionUri points (JSON or YAML)."""
    template = load_template(ROOT / "template.yaml")
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    definition = yaml.safe_load((ROOT / machine["Properties"]["DefinitionUri"]).read_text())
    return json.dumps(definition)


def test_every_verdict_and_step_the_asl_compares_is_a_contract_value():
    asl = json.loads(asl_text())
    compared: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("StringEquals"), str):
                compared.add(node["StringEquals"])
            if node.get("verdict") == "ERROR":  # RecordCheckError's literal
                compared.add("ERROR")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(asl)
    known = {*Verdict, *RotateOn, *RotationStep, *ShodanEngine, *NotAsked}
    assert compared, "the ASL compares no literal: this test reads the wrong definition"
    assert compared <= known, compared - known
    # The Choices that route a check and a rotation use the contract's values.
    assert {Verdict.INDEXED, Verdict.FINGERPRINTED, Verdict.ERROR, RotateOn.NEVER} <= compared
    assert {RotationStep.STOP, RotationStep.WAIT, RotationStep.CHECK} <= compared
    assert ShodanEngine.INTERNETDB in compared  # WatchWithShodanMonitor: no key, no alert
    assert NotAsked.PENDING in compared  # WantCensys: a token set, Censys is asked
    # CensysSetting's verdict is the template's CensysUntilAsked: PENDING, or OFF (no token).
    template = load_template(ROOT / "template.yaml")
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::StateMachine"]
    until_asked = machine["Properties"]["DefinitionSubstitutions"]["CensysUntilAsked"]["Fn::If"]
    assert until_asked[1:] == [NotAsked.PENDING, NotAsked.OFF]
    # The alert's status the ASL writes itself (no key: OFF; the sync failing: NOT_SYNCED).
    states = json.loads(asl_text())["States"]
    assert states["ShodanMonitorOff"]["Parameters"]["alert"]["status"] == AlertSyncStatus.OFF
    assert states["AlertNotSynced"]["Parameters"]["alert"]["status"] == AlertSyncStatus.NOT_SYNCED


def test_the_asl_builds_the_same_s3_keys_as_the_key_builders():
    formats = set(re.findall(r"States\.Format\('((?:targets|evidence|errors|sweeps)/[^']*)'", asl_text()))
    as_built = {f.replace("{}", "<{}>").format(*(["ip", "exec"] if f.count("{}") == 2 else ["exec"])) for f in formats}
    assert as_built == {
        targets_key("<exec>"),
        evidence_key("<ip>", "<exec>"),
        error_key("<ip>", "<exec>"),
        sweep_record_key("<exec>"),
    }


def test_the_scans_the_asl_claims_and_reports_use_the_contracts_values_and_the_tables_attributes():
    from ics_honeynet.exposure_history import ATTRIBUTES

    asl = json.loads(asl_text())
    scans = asl["States"]["RequestScans"]["ItemProcessor"]["States"]
    outcomes = {state["Parameters"]["scan"] for state in scans.values() if "scan" in state.get("Parameters", {})}
    assert outcomes == set(ScanOutcome)
    claim = scans["ClaimScan"]["Parameters"]
    assert claim["ExpressionAttributeValues"][":treatment"] == {"S": Arm.TREATMENT}
    # Every attribute the ASL reads or writes is one the exposure history knows.
    written = {
        name
        for state in (*scans.values(), *asl["States"]["StopExposedTasks"]["ItemProcessor"]["States"].values())
        if state.get("Resource") == "arn:aws:states:::dynamodb:updateItem"
        for text in (state["Parameters"]["UpdateExpression"], state["Parameters"].get("ConditionExpression", ""))
        for name in re.findall(r"(?<![:\w])([a-z][A-Za-z]+)\b(?! *\()", text)
    }
    assert written and written <= set(ATTRIBUTES.values()), written - set(ATTRIBUTES.values())
    assert {"arm", "taskArn", "scanRequestedAt", "scanRequestedBy", "scanId", "scanError"} <= written


def test_rotate_on_is_the_templates_allowed_values():
    template = load_template(ROOT / "template.yaml")
    assert template["Parameters"]["RotateOn"]["AllowedValues"] == [*RotateOn]


def test_shodan_engine_is_the_templates_allowed_values_and_api_by_default():
    parameter = load_template(ROOT / "template.yaml")["Parameters"]["ShodanEngine"]
    assert parameter["AllowedValues"] == [*ShodanEngine] and parameter["Default"] == ShodanEngine.API


def test_enums_are_their_json_strings():
    payload = json.dumps({"verdict": Verdict.FINGERPRINTED, ChangeKind.ROTATED: 1, "rotateOn": RotateOn.INDEXED})
    assert payload == '{"verdict": "FINGERPRINTED", "ROTATED": 1, "rotateOn": "indexed"}'
    assert json.loads(payload)["verdict"] == Verdict.FINGERPRINTED and RotateOn.INDEXED == "indexed"


def test_each_concept_is_defined_in_contracts_only():
    """No module of the sweep defines a verdict, RotateOn value, rotation step or status again
    (doctor.py, the CLI, is not part of the sweep: its findings have a "check" field)."""
    enums = (Verdict, RotateOn, RotationStep, ChainStatus, ChangeKind, Arm, ScanOutcome, ShodanEngine)
    literals = {f'"{v}"' for enum in enums for v in enum}
    package = Path(contracts.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{n}: {line.strip()}"
        for path in package.rglob("*.py")
        if path.name not in ("contracts.py", "doctor.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(literal in line for literal in literals) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-25T01:00:00", datetime(2026, 11, 25, 1, tzinfo=UTC)),  # Shodan: no zone, UTC
        ("2026-11-25T01:00:00Z", datetime(2026, 11, 25, 1, tzinfo=UTC)),  # Step Functions
        ("2026-11-25T03:00:00+02:00", datetime(2026, 11, 25, 1, tzinfo=UTC)),  # ECS via JSON
        ("2026-11-25T01:00:00.123456", datetime(2026, 11, 25, 1, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_utc_reads_every_timestamp_the_sweep_meets(text, expected):
    assert parse_utc(text) == expected and parse_utc(text).tzinfo is UTC


@pytest.mark.parametrize("text", ["yesterday", "", "0001-01-01T00:00:00+01:00", "2026-13-01T00:00:00"])
def test_parse_utc_refuses_what_is_not_a_time(text):
    with pytest.raises(ValueError):
        parse_utc(text)


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), None])))
def test_format_then_parse_is_the_same_moment_in_utc(moment):
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        text = format_utc(moment)
    except OverflowError:  # a moment near datetime's range that UTC cannot express
        return
    assert text.endswith("+00:00") and parse_utc(text) == aware
