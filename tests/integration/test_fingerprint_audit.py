"""The live audit against a fake honeypot: recorded default-Conpot answers, persona answers, faults."""

from __future__ import annotations

import json

import pytest

from ics_honeynet.__main__ import main
from ics_honeynet.audit.assess import Kind, assess
from ics_honeynet.audit.probes import probe_host
from ics_honeynet.persona import persona_for
from tests.integration.fake_conpot import Service, device, free_port, recorded, serving


def test_recorded_default_conpot_is_flagged_on_every_protocol():
    with serving(recorded()) as ports:
        report = assess(probe_host("127.0.0.1", ports, timeout=1.0))
    kinds = {(f.kind, f.protocol) for f in report.findings}
    for protocol in ("s7comm", "modbus", "snmp", "http", "ftp", "enip"):
        assert (Kind.DEFAULT, protocol) in kinds, protocol
    defaults = {f.message.split("'")[1] for f in report.findings if f.kind is Kind.DEFAULT}
    assert {"88111222", "Technodrome", "Mouser Factory", "7079450", "Venus", "1.3.6.1.4.1.20408"} <= defaults
    assert "Original Siemens Equipment" not in defaults  # genuine Siemens value: information only
    behaviours = {f.protocol for f in report.findings if f.kind is Kind.BEHAVIOUR}
    assert {"ftp", "modbus", "s7comm", "bacnet", "ipmi", "http", "enip"} <= behaviours
    assert any(f.kind is Kind.INCONSISTENT and "vendors" in f.message for f in report.findings)
    assert any(f.kind is Kind.INCONSISTENT and "1993" in f.evidence for f in report.findings)
    assert any(f.kind is Kind.COMBINATION for f in report.findings)
    assert report.score == 100 and report.exit_status == 1
    assert report.errors == ()  # unit 0's silence is not an error: unit 1 answered


@pytest.mark.parametrize(
    "seed", ["arn:aws:ecs:us-east-1:123456789012:task/honeynet/0a1b2c", "pinned-a", "pinned-b", "x"]
)
def test_a_device_serving_a_persona_is_clean(seed):
    persona = persona_for(seed)
    with serving(device(persona)) as ports:
        report = assess(probe_host("127.0.0.1", ports, timeout=1.0))
    assert report.findings == (), report.findings
    assert set(report.open_services) == {p.value for p in persona.services}
    assert report.score == 0 and report.exit_status == 0


def test_cli_json_on_recorded_answers(capsys):
    with serving(recorded()) as ports:
        status = main(["audit", "--host", "127.0.0.1", "--timeout", "1", "--json",
                       "--ports", ",".join(f"{k}={v}" for k, v in ports.items())])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert status == 1 and out["score"] == 100
    assert any(f["evidence"].startswith("szl_1c.serial='88111222'") for f in out["findings"])


def test_short_malformed_and_silent_answers_are_per_probe_errors():
    services = {
        "s7comm": Service("tcp", lambda req: b"\x03\x00\x00\x13\x0e"),  # truncated COTP confirm, then silence
        "modbus": Service("tcp", lambda req: b"<close>"),  # hangs up
        "enip": Service("tcp", lambda req: b"\x63\x00\x40\x00" + bytes(30)),  # claims more than it sends
        "http": Service("tcp", lambda req: b"SSH-2.0-OpenSSH_9.6\r\n<close>"[:21]),
        "snmp": Service("udp", lambda req: b"\x30\x03\x02\x01"),  # truncated BER
        "bacnet": Service("udp", lambda req: None),  # silence
    }
    with serving(services) as ports:
        ports["ftp"] = free_port()  # nothing listens: closed, not an error
        report = assess(probe_host("127.0.0.1", ports, timeout=0.3))
    errors = {e.protocol: e.message for e in report.errors}
    assert set(errors) == {"s7comm", "modbus", "enip", "http", "snmp", "bacnet"}, errors
    assert "timed out" in errors["s7comm"] and "timed out" in errors["bacnet"]
    assert "malformed" in errors["snmp"]
    assert "ftp" not in report.open_services
    assert report.findings == ()
