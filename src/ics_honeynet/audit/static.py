"""The static audit: what a Conpot template directory would serve, before anything is deployed.

It reads the files the way Conpot does (databus keys resolved through each protocol file) and adds
what Conpot's code serves whatever the template says (FTP's reply code 200; cpppo's built-in
EtherNet/IP identity unless a ``cpppo.cfg`` sets it; pysnmp's sysObjectID when none is mapped).
"""

from __future__ import annotations

import ast
import configparser
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from ics_honeynet.audit.assess import Behaviour, Observed, ProbeError
from ics_honeynet.conpot_templates import CPPPO_CONFIG

# cpppo's Identity object when no cpppo.cfg sets it (what default Conpot answers; recorded).
_CPPPO_IDENTITY = {
    "Vendor Number": "1",
    "Device Type": "14",
    "Product Code Number": "54",
    "Serial Number": "7079450",
    "Product Name": "1756-L61/B LOGIX5561",
}
_PYSNMP_OBJECT_ID = "1.3.6.1.4.1.20408"
_CONDATA = re.compile(r'<condata\s+source="databus"\s+key="([^"]+)"\s*/>')


def _parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()  # noqa: S314 -- the user's own template on their own machine


def _databus(root: ET.Element) -> dict[str, str]:
    out = {}
    for key in root.iterfind("./databus/key_value_mappings/key"):
        value = key.find("value")
        if value is None or value.get("type") != "value" or value.text is None:
            continue
        try:
            literal = ast.literal_eval(value.text.strip())
        except (ValueError, SyntaxError):
            continue  # an expression (random values): not identity
        out[key.get("name") or ""] = str(literal)
    return out


def _enabled(root: ET.Element) -> bool:
    return (root.get("enabled") or "").strip() == "True"


def audit_template(directory: Path, working_directory: Path | None = None) -> Observed:
    """What Conpot started from ``directory`` would serve; cpppo reads ``cpppo.cfg`` from Conpot's
    working directory (the template directory itself when not given)."""
    observed = Observed()
    template = directory / "template.xml"
    if not template.is_file():
        observed.errors.append(ProbeError("template", f"{template}: no template.xml"))
        return observed
    try:
        bus = _databus(_parse(template))
    except ET.ParseError as exc:
        observed.errors.append(ProbeError("template", f"{template}: {exc}"))
        return observed

    def protocol(name: str) -> ET.Element | None:
        path = directory / name / f"{name}.xml"
        if not path.is_file():
            return None
        try:
            root = _parse(path)
        except ET.ParseError as exc:
            observed.errors.append(ProbeError(name, f"{path}: {exc}"))
            return None
        if not _enabled(root):
            return None
        observed.open_services.add(name)
        return root

    if (s7 := protocol("s7comm")) is not None:
        for item in s7.iterfind("./system_status_lists/ssl/*"):
            value = bus.get((item.text or "").strip(), "")
            observed.add("s7comm", f"szl.{item.tag}", value)
            if item.tag == "module_type_name":
                observed.add("s7comm", "szl_1c.module_type_name", value)
    if (snmp := protocol("snmp")) is not None:
        mapped = {s.get("name"): bus.get((s.findtext("value") or "").strip(), "") for s in snmp.iter("symbol")}
        for name, value in mapped.items():
            if name and name != "sysUpTime":
                observed.add("snmp", name, value)
        if "sysObjectID" not in mapped:
            observed.add("snmp", "sysObjectID", _PYSNMP_OBJECT_ID)
    if (modbus := protocol("modbus")) is not None:
        for tag, name in (
            ("VendorName", "vendor_name"),
            ("ProductCode", "product_code"),
            ("MajorMinorRevision", "revision"),
        ):
            observed.add("modbus", name, modbus.findtext(f"./device_info/{tag}") or "")
    if (enip := protocol("enip")) is not None:
        identity = dict(_CPPPO_IDENTITY)
        cfg = (working_directory or directory) / CPPPO_CONFIG
        if cfg.is_file():
            parser = configparser.ConfigParser()
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            parser.read(cfg)
            if parser.has_section("Identity"):
                identity |= dict(parser["Identity"])
        else:
            observed.behaviours.append(
                Behaviour("enip", "no cpppo.cfg: ListIdentity answers cpppo's built-in identity, not enip.xml's",
                          str(directory / "enip/enip.xml"), 10)
            )  # fmt: skip
        observed.add("enip", "vendor_id", identity["Vendor Number"])
        observed.add("enip", "serial", identity["Serial Number"])
        observed.add("enip", "product_name", identity["Product Name"])
        del enip
    if (bacnet := protocol("bacnet")) is not None:
        info = {child.tag: (child.text or "").strip() for child in bacnet.iterfind("./device_info/*")}
        observed.add("bacnet", "device_instance", info.get("device_identifier", ""))
        observed.add("bacnet", "vendor_id", info.get("vendor_identifier", ""))
        observed.add("bacnet", "vendor_name", info.get("vendor_name", ""))
        observed.add("bacnet", "model_name", info.get("model_name", ""))
        observed.add("bacnet", "object_name", bus.get(info.get("device_name", ""), ""))
    if (http := protocol("http")) is not None:
        for entity in http.iter("entity"):
            name = (entity.get("name") or "").lower()
            if name in ("last-modified", "server", "set-cookie", "date"):
                observed.add("http", f"header.{name}", (entity.text or "").strip())
                if name == "set-cookie" and (entity.text or "").strip() == "path=/":
                    observed.behaviours.append(
                        Behaviour("http", "nameless cookie 'Set-cookie: path=/'", "http.xml", 15)
                    )
        for page in sorted((directory / "http").rglob("*")):
            if page.is_file() and page.suffix in (".html", ".status"):
                text = _CONDATA.sub(
                    lambda m: bus.get(m.group(1), ""), page.read_text(encoding="utf-8", errors="replace")
                )
                title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
                if title:
                    observed.add("http", "title", title.group(1).strip())
                observed.add("http", f"page.{page.name}", text)
    if (ftp := protocol("ftp")) is not None:
        observed.add("ftp", "greeting", ftp.findtext("./device_info/banner") or "")
        observed.add("ftp", "motd", (ftp.findtext("./device_info/motd") or "").strip())
        observed.behaviours.append(
            Behaviour("ftp", "Conpot greets with reply code 200 whatever the template (servers send 220)",
                      "conpot/protocols/ftp/ftp_base_handler.py", 20)
        )  # fmt: skip
    if (ipmi := protocol("ipmi")) is not None:
        for user in ipmi.iterfind("./user_list/user"):
            observed.add("ipmi", "user", f"{user.findtext('user_name')}:{user.findtext('password')}")
    return observed
