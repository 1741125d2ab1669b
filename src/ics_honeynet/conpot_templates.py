"""Render a Conpot template directory from a persona: ``render_template(persona, directory)``.

Conpot reads a template directory (``conpot --template DIR``): ``template.xml`` holds the databus
(the values protocols serve by key), and ``<protocol>/<protocol>.xml`` configures each protocol,
which Conpot starts only when the file exists and its root says ``enabled="True"``. We write the
whole directory from the persona: every identifying value Conpot serves comes from it (see the
README, "Personas and the fingerprint audit", for the list and the reasons).

Where each value lands (Conpot master, conpot/templates/default and conpot/protocols):
- S7 SZL 0x001C items are databus keys named in ``s7comm/s7comm.xml`` (``W#16#xy1C``); SZL 0x0011
  index 1 (the order number) is ``module_identification`` under ``W#16#xy11``.
- SNMP symbols map to databus keys in ``snmp/snmp.xml``; the stock file maps no sysObjectID, so
  pysnmp answers its own enterprise (1.3.6.1.4.1.20408): we map it.
- Modbus device identification is ``modbus/modbus.xml`` ``device_info``.
- BACnet's device is ``bacnet/bacnet.xml`` ``device_info`` (the second child is the instance).
- EtherNet/IP: ``enip/enip.xml`` ``device_info`` is parsed but never used; cpppo's Identity object
  answers ListIdentity from its ``[Identity]`` section in a ``cpppo.cfg`` found in Conpot's working
  directory (or ~/.cpppo.cfg, /etc/cpppo.cfg). We write both; delivery must place ``cpppo.cfg``.
- HTTP headers and pages are ``http/http.xml`` and ``http/htdocs``; FTP is ``ftp/ftp.xml``; IPMI
  ``ipmi/ipmi.xml``.

Conpot validates every protocol file it finds against its XSD at start, enabled or not, and exits
on the first error (bin/conpot, ``validate_template``). Two of the schemas' rules shape what we
write: ``http.xsd`` allows exactly one header under ``global/headers`` (we send ``Date``, which
Conpot refreshes; ``Server`` goes with each page's headers, which allow any number), and
``ftp.xsd`` wants at least one ``file`` before the ``dir`` entries of ``ftp_vfs``.
"""

from __future__ import annotations

import configparser
import io
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime, time
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from ics_honeynet.persona import CATALOGUE, Persona, Protocol

# The ports real devices use (Conpot's stock files use unprivileged ones; T-Pot's image moves them
# down the same way and runs Conpot with cap_net_bind_service).
PORTS: Mapping[Protocol, int] = {
    Protocol.S7: 102,
    Protocol.MODBUS: 502,
    Protocol.SNMP: 161,
    Protocol.HTTP: 80,
    Protocol.FTP: 21,
    Protocol.ENIP: 44818,
    Protocol.BACNET: 47808,
    Protocol.IPMI: 623,
}
CPPPO_CONFIG = "cpppo.cfg"


def http_date(persona: Persona) -> str:
    """The pages' ``Last-Modified``: the firmware's build day, mid-morning UTC."""
    built = datetime.combine(persona.http.last_modified, time(9, 41, 17), tzinfo=UTC)
    return format_datetime(built, usegmt=True)


def _databus(persona: Persona) -> dict[str, str]:
    """Databus key -> value as Conpot evaluates it (a Python literal)."""
    s7, snmp = persona.s7, persona.snmp
    values: dict[str, str | int] = {
        "FacilityName": s7.plant_identification,
        "SystemName": s7.system_name,
        "SystemDescription": snmp.sys_descr,
        "ModuleName": s7.module_name,
        "sysObjectID": snmp.sys_object_id,
        "sysContact": snmp.sys_contact,
        "sysName": snmp.sys_name,
        "sysLocation": snmp.sys_location,
        "sysServices": str(snmp.sys_services),
        "Copyright": s7.copyright,
        "s7_id": s7.serial_number,
        "s7_module_type": s7.module_type_name,
        "s7_order_number": s7.order_number,
        "s7_location": s7.location,
        "IpmiDeviceName": persona.ipmi.device_name,
        "empty": "",
    }
    return {key: repr(value) for key, value in values.items()}


def _key(name: str, value: str) -> str:
    return f'            <key name="{name}">\n                <value type="value">{value}</value>\n            </key>'


def _template_xml(persona: Persona) -> str:
    keys = "\n".join(_key(name, escape(value)) for name, value in _databus(persona).items())
    # Modbus register blocks: process values, not identity (random at start, as in the stock file).
    blocks = "\n".join(
        _key(name, expr)
        for name, expr in (
            ("memoryModbusSlave1BlockA", "[random.randint(0,1) for b in range(0,128)]"),
            ("memoryModbusSlave1BlockB", "[random.randint(0,1) for b in range(0,32)]"),
            ("memoryModbusSlave1BlockC", "[random.randint(0,1000) for b in range(0,8)]"),
            ("memoryModbusSlave1BlockD", "[0 for b in range(0,32)]"),
        )
    )
    return f"""<core>
    <template>
        <entity name="unit">{escape(persona.model.module_type)}</entity>
        <entity name="vendor">{escape(persona.vendor.name)}</entity>
        <entity name="description">Persona {escape(persona.station)} rendered by ics_honeynet</entity>
        <entity name="protocols">{", ".join(sorted(p.value for p in persona.services))}</entity>
        <entity name="creator">ics_honeynet persona</entity>
    </template>
    <databus>
        <key_value_mappings>
            <key name="Uptime">
                <value type="function">conpot.emulators.misc.uptime.Uptime</value>
            </key>
{keys}
{blocks}
        </key_value_mappings>
    </databus>
</core>
"""


def _root(protocol: Protocol, persona: Persona) -> str:
    enabled = "True" if protocol in persona.services else "False"
    return f'<{protocol.value} enabled="{enabled}" host="0.0.0.0" port="{PORTS[protocol]}">'


def _s7comm_xml(persona: Persona) -> str:
    return f"""{_root(Protocol.S7, persona)}
    <system_status_lists>
        <ssl id="W#16#xy1C" name="Component Identification">
            <system_name id="W#16#0001">SystemName</system_name>
            <module_name id="W#16#0002">ModuleName</module_name>
            <plant_ident id="W#16#0003">FacilityName</plant_ident>
            <copyright id="W#16#0004">Copyright</copyright>
            <serial id="W#16#0005">s7_id</serial>
            <module_type_name id="W#16#0007">s7_module_type</module_type_name>
            <oem_id id="W#16#000A">empty</oem_id>
            <location id="W#16#000B">s7_location</location>
        </ssl>
        <ssl id="W#16#xy11" name="Module Identification">
            <module_identification id="W#16#0001">s7_order_number</module_identification>
            <hardware_identification id="W#16#0006">s7_order_number</hardware_identification>
            <firmware_identification id="W#16#0007">empty</firmware_identification>
        </ssl>
    </system_status_lists>
</s7comm>
"""


def _modbus_xml(persona: Persona) -> str:
    ident = persona.modbus
    blocks = "\n".join(
        f"""                <block name="{name}">
                    <type>{kind}</type>
                    <starting_address>{start}</starting_address>
                    <size>{size}</size>
                    <content>{name}</content>
                </block>"""
        for name, kind, start, size in (
            ("memoryModbusSlave1BlockA", "COILS", 1, 128),
            ("memoryModbusSlave1BlockB", "DISCRETE_INPUTS", 10001, 32),
            ("memoryModbusSlave1BlockC", "ANALOG_INPUTS", 30001, 8),
            ("memoryModbusSlave1BlockD", "HOLDING_REGISTERS", 40001, 8),
        )
    )
    return f"""{_root(Protocol.MODBUS, persona)}
    <device_info>
        <VendorName>{escape(ident.vendor_name)}</VendorName>
        <ProductCode>{escape(ident.product_code)}</ProductCode>
        <MajorMinorRevision>{escape(ident.revision)}</MajorMinorRevision>
    </device_info>
    <mode>tcp</mode>
    <delay>40</delay>
    <slaves>
        <slave id="1">
            <blocks>
{blocks}
            </blocks>
        </slave>
    </slaves>
</modbus>
"""


def _snmp_xml(persona: Persona) -> str:
    symbols = "\n".join(
        f'            <symbol name="{symbol}">\n                <value>{key}</value>\n            </symbol>'
        for symbol, key in (
            ("sysDescr", "SystemDescription"),
            ("sysObjectID", "sysObjectID"),
            ("sysUpTime", "Uptime"),
            ("sysContact", "sysContact"),
            ("sysName", "sysName"),
            ("sysLocation", "sysLocation"),
            ("sysServices", "sysServices"),
        )
    )
    return f"""{_root(Protocol.SNMP, persona)}
    <config>
        <entity name="tarpit" command="get">0.0;0.05</entity>
        <entity name="tarpit" command="set">0.0;0.05</entity>
        <entity name="tarpit" command="next">0.0;0.05</entity>
        <entity name="tarpit" command="bulk">0.0;0.1</entity>
        <entity name="evasion" command="get">120;240</entity>
        <entity name="evasion" command="set">120;240</entity>
        <entity name="evasion" command="next">240;600</entity>
        <entity name="evasion" command="bulk">120;240</entity>
    </config>
    <mibs>
        <mib name="SNMPv2-MIB">
{symbols}
        </mib>
    </mibs>
</snmp>
"""


def _http_xml(persona: Persona) -> str:
    modified = http_date(persona)
    return f"""{_root(Protocol.HTTP, persona)}
    <global>
        <config>
            <entity name="protocol_version">HTTP/1.1</entity>
            <entity name="update_header_date">true</entity>
            <entity name="disable_method_head">false</entity>
            <entity name="disable_method_trace">true</entity>
            <entity name="disable_method_options">false</entity>
            <entity name="tarpit">0</entity>
        </config>
        <headers>
            <entity name="Date">{modified}</entity>
        </headers>
    </global>
    <htdocs>
        <node name="/">
            <alias>/index.html</alias>
        </node>
        <node name="/index.html">
            <headers>
                <entity name="Server">{escape(persona.http.server)}</entity>
                <entity name="Last-Modified">{modified}</entity>
                <entity name="Content-Type">text/html</entity>
            </headers>
        </node>
        <node name="/index.htm">
            <alias>/index.html</alias>
        </node>
    </htdocs>
    <statuscodes>
        <status name="400">
            <tarpit>0</tarpit>
            <entity name="Content-Type">text/html</entity>
        </status>
        <status name="404">
            <tarpit>0</tarpit>
            <entity name="Content-Type">text/html</entity>
        </status>
        <status name="501">
            <tarpit>0</tarpit>
            <entity name="Content-Type">text/html</entity>
        </status>
    </statuscodes>
</http>
"""


def index_html(persona: Persona) -> str:
    """The device's start page (Conpot fills the ``condata`` elements at request time)."""
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{escape(persona.http.title)}</title>
</head>
<body>
<h1>{escape(persona.http.heading)}</h1>
<table>
<tr><td>Module</td><td>{escape(persona.model.module_type)}</td></tr>
<tr><td>Order number</td><td>{escape(persona.model.order_number)}</td></tr>
<tr><td>Firmware</td><td>{escape(persona.firmware.version)}</td></tr>
<tr><td>Plant</td><td>{escape(persona.site)}</td></tr>
<tr><td>Uptime</td><td><condata source="databus" key="Uptime" /></td></tr>
</table>
</body>
</html>
"""


def _status_page(persona: Persona, code: int, reason: str) -> str:
    return f"""<!DOCTYPE html>
<html>
<head><title>{code} {reason}</title></head>
<body><h1>{code} {reason}</h1><p>{escape(persona.http.title)}</p></body>
</html>
"""


def _ftp_xml(persona: Persona) -> str:
    users = "\n".join(
        f'            <user uid="{100 + i}">\n                <uname>{escape(u.name)}</uname>\n'
        f"                <password>{escape(u.password)}</password>\n            </user>"
        for i, u in enumerate(persona.ipmi.users)
    )
    return f"""{_root(Protocol.FTP, persona)}
    <device_info>
        <enabled_commands>
            'USER', 'PASS', 'HELP', 'NOOP', 'QUIT', 'SYST', 'TYPE', 'PASV', 'PORT', 'SIZE', 'PWD', 'CWD',
            'CDUP', 'MDTM', 'STAT', 'LIST', 'NLST', 'RETR', 'REST', 'STRU', 'MODE'
        </enabled_commands>
        <device_type>{escape(persona.vendor.name)}</device_type>
        <banner>{escape(persona.ftp.banner)}</banner>
        <max_login_attempts>3</max_login_attempts>
        <sever_timeout>60</sever_timeout>
        <motd>{escape(persona.ftp.motd)}</motd>
        <stou_suffix>{escape(persona.station.lower())}</stou_suffix>
        <stou_prefix>{escape(persona.station.lower())}</stou_prefix>
    </device_info>
    <ftp_users>
        <users group="50:operators">
{users}
        </users>
        <anon_login enabled="False" uid="32">
            <uname>ftp</uname>
        </anon_login>
    </ftp_users>
    <ftp_vfs>
        <path>/data/ftp/</path>
        <add_src></add_src>
        <data_fs_subdir>ftp</data_fs_subdir>
        <default_owner>100</default_owner>
        <default_perms>0o755</default_perms>
        <upload_file_perms>0o644</upload_file_perms>
        <mkdir_directory_perms>0o755</mkdir_directory_perms>
        <file path="/data/ftp/{escape(persona.station.lower())}.log">
            <owner_uid>100</owner_uid>
            <perms>0o644</perms>
            <last_accessed>{_epoch(persona)}</last_accessed>
            <last_modified>{_epoch(persona)}</last_modified>
        </file>
        <dir path="/" recursive="True">
            <owner_uid>100</owner_uid>
            <perms>0o755</perms>
            <last_accessed>{_epoch(persona)}</last_accessed>
            <last_modified>{_epoch(persona)}</last_modified>
        </dir>
    </ftp_vfs>
</ftp>
"""


def _epoch(persona: Persona) -> str:
    return f"{datetime.combine(persona.http.last_modified, time(9, 41, 17), tzinfo=UTC).timestamp():.6f}"


def _enip_xml(persona: Persona) -> str:
    ident = persona.enip
    return f"""{_root(Protocol.ENIP, persona)}
    <device_info>
        <VendorId>{ident.vendor_id}</VendorId>
        <ProductName>{escape(ident.product_name)}</ProductName>
        <DeviceType>{ident.device_type}</DeviceType>
        <SerialNumber>{ident.serial_number}</SerialNumber>
        <ProductRevision>{ident.product_revision}</ProductRevision>
        <ProductCode>{ident.product_code}</ProductCode>
    </device_info>
    <mode>tcp</mode>
    <latency>0.1</latency>
    <timeout>1</timeout>
    <tags>
        <tag name="{escape(persona.s7.module_name)}">
            <type>INT</type>
            <size>1</size>
            <value>0</value>
            <addr>22/1/1</addr>
        </tag>
    </tags>
</enip>
"""


def cpppo_config(persona: Persona) -> str:
    """cpppo's ``[Identity]`` section: what EtherNet/IP ListIdentity really answers."""
    ident = persona.enip
    config = configparser.ConfigParser()
    config.optionxform = str  # type: ignore[assignment,method-assign]  # cpppo's keys are case-sensitive
    config["Identity"] = {
        "Vendor Number": str(ident.vendor_id),
        "Device Type": str(ident.device_type),
        "Product Code Number": str(ident.product_code),
        "Product Revision": str(ident.product_revision),
        "Status Word": str(ident.status_word),
        "Serial Number": str(ident.serial_number),
        "Product Name": ident.product_name,
        "State": str(ident.state),
    }
    out = io.StringIO()
    config.write(out)
    return out.getvalue()


def _bacnet_xml(persona: Persona) -> str:
    bacnet = persona.bacnet
    if bacnet is None:  # the vendor makes no BACnet device: Conpot starts no BACnet server
        return ""
    return f"""{_root(Protocol.BACNET, persona)}
    <device_info>
        <device_name>SystemName</device_name>
        <device_identifier>{bacnet.device_instance}</device_identifier>
        <vendor_name>{escape(bacnet.vendor_name)}</vendor_name>
        <vendor_identifier>{bacnet.vendor_id}</vendor_identifier>
        <max_apdu_length_accepted>1476</max_apdu_length_accepted>
        <segmentation_supported>segmentedBoth</segmentation_supported>
        <model_name>{escape(bacnet.model_name)}</model_name>
        <protocol_version>1</protocol_version>
    </device_info>
    <object_list>
        <object name="objectAnalog">
            <properties>
                <object_identifier>1</object_identifier>
                <object_name>{escape(persona.station)} AI 1</object_name>
                <object_type>Analog Input</object_type>
                <present_value>21.5</present_value>
            </properties>
        </object>
    </object_list>
</bacnet>
"""


def _ipmi_xml(persona: Persona, root: str | None = None, device_key: str = "IpmiDeviceName") -> str:
    users = "\n".join(
        f"""        <user>
            <user_name>{escape(u.name)}</user_name>
            <password>{escape(u.password)}</password>
            <privilege>{u.privilege}</privilege>
            <active>true</active>
            <fixed>false</fixed>
        </user>"""
        for u in persona.ipmi.users
    )
    return f"""{root or _root(Protocol.IPMI, persona)}
    <device_info>
        <device_name>{device_key}</device_name>
    </device_info>
    <user_list>
{users}
    </user_list>
</ipmi>
"""


def template_files(persona: Persona) -> dict[str, str]:
    """Relative path -> content of every file of the rendered template directory."""
    files = {
        "template.xml": _template_xml(persona),
        "s7comm/s7comm.xml": _s7comm_xml(persona),
        "modbus/modbus.xml": _modbus_xml(persona),
        "snmp/snmp.xml": _snmp_xml(persona),
        "http/http.xml": _http_xml(persona),
        "http/htdocs/index.html": index_html(persona),
        "http/statuscodes/400.status": _status_page(persona, 400, "Bad Request"),
        "http/statuscodes/404.status": _status_page(persona, 404, "Not Found"),
        "http/statuscodes/501.status": _status_page(persona, 501, "Not Implemented"),
        "ftp/ftp.xml": _ftp_xml(persona),
        "enip/enip.xml": _enip_xml(persona),
        "ipmi/ipmi.xml": _ipmi_xml(persona),
        CPPPO_CONFIG: cpppo_config(persona),
    }
    bacnet = _bacnet_xml(persona)
    if bacnet:
        files["bacnet/bacnet.xml"] = bacnet
    return files


def render_template(persona: Persona, directory: Path) -> list[Path]:
    """Write the persona's template into ``directory`` (created; existing files of ours replaced)."""
    written = []
    for relative, content in template_files(persona).items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if relative.endswith(".xml"):
            ET.fromstring(content)  # noqa: S314 -- our own output; malformed would stop Conpot: fail here
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


# ------------------------------------------------------------------------------------------------
# The other stock templates keep their protocol files; only their databus identity changes.
# ------------------------------------------------------------------------------------------------
# Conpot's templates, as T-Pot's industrial profile ran them (the HoneypotTemplate(s) parameter).
TEMPLATES = ("default", "IEC104", "guardian_ast", "ipmi", "kamstrup_382")
_SIEMENS_CP_OUI = "000e8c"  # the IEC104 template is a Siemens CP 343-1: its MAC keeps Siemens' OUI


def databus_overrides(persona: Persona, template: str) -> dict[str, str]:
    """Databus key -> Python literal for a stock template other than ``default``."""
    values: dict[str, str | int]
    if template == "IEC104":
        # The template is a Siemens S7-300 behind a CP 343-1 (its IEC 104 files say so): the CPU
        # is one of the catalogue's S7-300s, the rest the persona's; the TTL is the host's (stock
        # 60 while the packets say 64).
        cpus = [m for m in CATALOGUE if m.family == "SIMATIC S7-300"]
        cpu = cpus[persona.enip.serial_number % len(cpus)]
        firmware = cpu.firmware[persona.enip.serial_number // len(cpus) % len(cpu.firmware)]
        values = {
            "SystemDescription": f"Siemens, {cpu.family}, {cpu.module_type}, {cpu.order_number}, "
            f"FW: {firmware.version}",
            "sysObjectID": cpu.sys_object_id,
            "SystemName": f"CP 343-1 {persona.station}"[:24],
            "FacilityName": persona.s7.plant_identification,
            "sysContact": persona.snmp.sys_contact,
            "sysName": persona.snmp.sys_name,
            "sysLocation": persona.snmp.sys_location,
            "ifPhysAddress": "0x" + _SIEMENS_CP_OUI + persona.mac_address.replace(":", "")[-6:].lower(),
            "udpLocalAddress": "0.0.0.0",  # noqa: S104 -- the UDP listener's table entry (stock: a public IP)
            "ipDefaultTTL": 64,
        }
    elif template == "ipmi":
        values = {"SystemName": persona.ipmi.device_name}
    elif template == "guardian_ast":
        guardian = persona.guardian
        values = {"station_name": guardian.station_name}
        values |= {f"product{i}": name for i, name in enumerate(guardian.products, start=1)}
    elif template == "kamstrup_382":
        kamstrup = persona.kamstrup
        values = {
            "mac_address": kamstrup.mac_address,
            "device_name": kamstrup.device_name,
            "kap_a_server_hostname": kamstrup.kap_server_hostname,
            "kap_a_server_ip": kamstrup.kap_server_ip,
            "channel_a_meternumber": kamstrup.meter_number,
            "channel_b_meternumber": kamstrup.meter_number,
        }
    else:
        raise ValueError(f"no databus overrides for template {template!r}")
    return {key: repr(value) for key, value in values.items()}


def prepare_template(persona: Persona | None, template: str, stock: Path, directory: Path) -> None:
    """Conpot's stock ``template`` (from ``stock``, the image's ``conpot/templates``) copied into
    ``directory``, its identity replaced by the persona's (None: unchanged, a control)."""
    if template == "default" and persona is not None:
        # Every file ours, nothing copied: a stock file left beside them (BACnet, TFTP, pages)
        # would serve Conpot's identity again.
        render_template(persona, directory)
        return
    source = stock / template
    if template not in TEMPLATES or not (source / "template.xml").is_file():
        raise ValueError(f"no stock Conpot template {template!r} in {stock}")
    shutil.copytree(source, directory, dirs_exist_ok=True)
    if persona is None:
        return
    path = directory / "template.xml"
    path.write_text(patch_databus(path.read_text(encoding="utf-8"), databus_overrides(persona, template)))
    if template == "ipmi":  # its users are identity too (stock: Administrator/Password, ...)
        root = f'<ipmi enabled="True" host="0.0.0.0" port="{PORTS[Protocol.IPMI]}">'
        (directory / "ipmi" / "ipmi.xml").write_text(_ipmi_xml(persona, root, "SystemName"), encoding="utf-8")


def patch_databus(template_xml: str, overrides: Mapping[str, str]) -> str:
    """``template_xml`` with the named databus keys' values replaced; every key must exist."""
    root = ET.fromstring(template_xml)  # noqa: S314 -- Conpot's stock template, from the image
    seen = set()
    for key in root.iterfind("./databus/key_value_mappings/key"):
        name = key.get("name") or ""
        value = key.find("value")
        if name in overrides and value is not None:
            value.set("type", "value")
            value.text = overrides[name]
            seen.add(name)
    missing = sorted(set(overrides) - seen)
    if missing:
        raise ValueError(f"template.xml has no databus key {', '.join(missing)}")
    return ET.tostring(root, encoding="unicode") + "\n"
