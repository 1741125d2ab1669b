"""Rendering personas into Conpot templates, and the static audit of templates."""

from __future__ import annotations

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ics_honeynet.__main__ import main
from ics_honeynet.audit.assess import Kind, assess
from ics_honeynet.audit.static import audit_template
from ics_honeynet.conpot_templates import databus_overrides, patch_databus, render_template, template_files
from ics_honeynet.persona import persona_for

SEEDS = [f"arn:aws:ecs:eu-west-1:123456789012:task/honeynet/{i:032x}" for i in range(12)]


def write_stock_default(directory: Path) -> None:
    """The identifying parts of Conpot's stock default template, in its file structure (values from
    ../shared/reference/shodan-and-tpot-facts.md), written by us for the test."""
    files = {
        "template.xml": """<core><databus><key_value_mappings>
  <key name="FacilityName"><value type="value">"Mouser Factory"</value></key>
  <key name="SystemName"><value type="value">"Technodrome"</value></key>
  <key name="SystemDescription"><value type="value">"Siemens, SIMATIC, S7-200"</value></key>
  <key name="sysContact"><value type="value">"Siemens AG"</value></key>
  <key name="sysName"><value type="value">"CP 443-1 EX40"</value></key>
  <key name="sysLocation"><value type="value">"Venus"</value></key>
  <key name="Copyright"><value type="value">"Original Siemens Equipment"</value></key>
  <key name="s7_id"><value type="value">"88111222"</value></key>
  <key name="s7_module_type"><value type="value">"IM151-8 PN/DP CPU"</value></key>
  <key name="empty"><value type="value">""</value></key>
</key_value_mappings></databus></core>""",
        "s7comm/s7comm.xml": """<s7comm enabled="True" host="0.0.0.0" port="10201"><system_status_lists>
  <ssl id="W#16#xy1C"><system_name id="W#16#0001">SystemName</system_name>
  <serial id="W#16#0005">s7_id</serial><module_type_name id="W#16#0007">s7_module_type</module_type_name></ssl>
</system_status_lists></s7comm>""",
        "snmp/snmp.xml": """<snmp enabled="True" host="0.0.0.0" port="16100"><mibs><mib name="SNMPv2-MIB">
  <symbol name="sysDescr"><value>SystemDescription</value></symbol>
  <symbol name="sysLocation"><value>sysLocation</value></symbol></mib></mibs></snmp>""",
        "modbus/modbus.xml": """<modbus enabled="True" host="0.0.0.0" port="5020"><device_info>
  <VendorName>Siemens</VendorName><ProductCode>SIMATIC</ProductCode><MajorMinorRevision>S7-200</MajorMinorRevision>
</device_info></modbus>""",
        "enip/enip.xml": '<enip enabled="True" host="0.0.0.0" port="44818"><device_info/></enip>',
        "bacnet/bacnet.xml": """<bacnet enabled="True" host="0.0.0.0" port="47808"><device_info>
  <device_name>SystemName</device_name><device_identifier>36113</device_identifier>
  <vendor_name>Alerton Technologies, Inc.</vendor_name><vendor_identifier>15</vendor_identifier>
  <model_name>VAV-DD Controller</model_name></device_info></bacnet>""",
        "ftp/ftp.xml": """<ftp enabled="True" host="0.0.0.0" port="2121"><device_info><banner>FTP server ready.</banner>
  <motd> Technodrome - Mouser Factory. Authorized personnel only</motd></device_info></ftp>""",
        "http/http.xml": """<http enabled="True" host="0.0.0.0" port="8800"><htdocs><node name="/index.html"><headers>
  <entity name="Last-Modified">Tue, 19 May 1993 09:00:00 GMT</entity><entity name="Set-cookie">path=/</entity>
</headers></node></htdocs></http>""",
        "http/htdocs/index.html": '<HTML><HEAD><TITLE>Overview - <condata source="databus" key="SystemDescription" />'
        "</TITLE></HEAD></HTML>",
    }
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


def test_stock_default_template_fails_the_static_audit(tmp_path):
    write_stock_default(tmp_path)
    report = assess(audit_template(tmp_path))
    defaults = {f.message.split("'")[1] for f in report.findings if f.kind is Kind.DEFAULT}
    assert {"88111222", "Technodrome", "Venus", "36113", "1756-L61/B LOGIX5561", "7079450", "1.3.6.1.4.1.20408",
            "Tue, 19 May 1993 09:00:00 GMT", "Alerton Technologies, Inc."} <= defaults  # fmt: skip
    assert any(f.kind is Kind.COMBINATION for f in report.findings)
    assert any(f.kind is Kind.BEHAVIOUR and f.protocol == "ftp" for f in report.findings)
    assert report.score == 100 and report.exit_status == 1
    assert main(["audit", "--template-dir", str(tmp_path)]) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_rendered_personas_pass_the_static_audit(tmp_path, seed):
    persona = persona_for(seed)
    render_template(persona, tmp_path)
    observed = audit_template(tmp_path)
    report = assess(observed)
    assert report.findings == () and report.errors == (), report.findings
    assert set(report.open_services) == {p.value for p in persona.services}
    # What the audit read is the persona's (so a pass is not a misread template).
    if "s7comm" in persona.services:
        assert persona.s7.serial_number in observed.values("s7comm", "szl.serial")
    assert persona.snmp.sys_object_id in observed.values("snmp", "sysObjectID")
    if "enip" in persona.services:
        assert str(persona.enip.serial_number) in observed.values("enip", "serial")


def test_rendered_files_are_well_formed_and_say_what_conpot_reads(tmp_path):
    persona = persona_for("pinned-experiment-1")
    render_template(persona, tmp_path)
    for path in tmp_path.rglob("*.xml"):
        ET.parse(path)
    cpppo = configparser.ConfigParser()
    cpppo.optionxform = str  # type: ignore[assignment,method-assign]
    cpppo.read(tmp_path / "cpppo.cfg")
    assert cpppo["Identity"]["Serial Number"] == str(persona.enip.serial_number)
    assert cpppo["Identity"]["Product Revision"] == str(persona.enip.revision_major | persona.enip.revision_minor << 8)
    snmp = ET.parse(tmp_path / "snmp/snmp.xml").getroot()
    assert "sysObjectID" in {s.get("name") for s in snmp.iter("symbol")}
    for name in ("s7comm", "modbus", "snmp", "http", "ftp", "enip", "ipmi"):
        root = ET.parse(tmp_path / name / f"{name}.xml").getroot()
        assert root.get("enabled") == str(name in persona.services)


def test_two_rendered_personas_differ_in_every_identifying_value():
    a, b = persona_for(SEEDS[0]), persona_for(SEEDS[1])
    files_a, files_b = template_files(a), template_files(b)
    for key, value in a.identifying_values().items():
        if value and key.split(".")[0] not in ("kamstrup", "guardian", "bacnet", "enip", "mac_address", "hostname"):
            assert any(value in text for text in files_a.values()), key
            assert not any(value in text for text in files_b.values()), key


def test_other_templates_get_their_databus_identity_patched():
    persona = persona_for("kamstrup-task")
    stock = (
        "<core><databus><key_value_mappings>"
        + "".join(
            f'<key name="{k}"><value type="value">\'x\'</value></key>'
            for k in (
                "mac_address",
                "device_name",
                "kap_a_server_hostname",
                "kap_a_server_ip",
                "channel_a_meternumber",
                "channel_b_meternumber",
                "register_1",
            )
        )
        + "</key_value_mappings></databus></core>"
    )
    patched = patch_databus(stock, databus_overrides(persona, "kamstrup_382"))
    assert repr(persona.kamstrup.mac_address) in patched and "register_1" in patched
    with pytest.raises(ValueError, match="station_name"):
        patch_databus(stock, databus_overrides(persona, "guardian_ast"))


def test_persona_cli_and_bad_arguments(capsys):
    assert main(["audit", "--persona", "pinned"]) == 0
    assert "no Conpot default" in capsys.readouterr().out
    assert main(["audit", "--host", "127.0.0.1", "--ports", "telnet=23"]) == 2
    assert main(["audit", "--template-dir", "/nonexistent"]) == 2
