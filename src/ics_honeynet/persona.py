"""A device identity per honeypot task: ``persona_for(seed)``.

Unmodified Conpot serves the same identity from every instance (serial 88111222, "Technodrome",
...), and mixes product families no real device combines. A persona is one plausible device: a
vendor, a model of that vendor, a firmware that model really shipped, and per-instance values
(serials, MAC, names, site) drawn deterministically from a seed (the task's identity, e.g. its
ECS task ARN, or a name the user pins). Every identifying value any Conpot protocol serves comes
from the persona, so the protocols agree with each other: one vendor's registry numbers (CIP vendor
id, SNMP enterprise, BACnet vendor id, MAC OUI) and one firmware era (HTTP dates).

The catalogue lists only the device families it models (``CATALOGUE``); adding one is adding data.
Registry numbers and order numbers are real; firmware release months are approximate (the
month the version became generally available, to the best of public release notes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

# The init container runs this module in T-Pot's image, whose Python is 3.11 (Alpine 3.19) or
# 3.12: no syntax newer than 3.11 here (pyproject: per-file-target-version; tools/persona_blob.py).
T = TypeVar("T")


class Protocol(StrEnum):
    """Conpot's protocol directories (``<template>/<name>/<name>.xml``)."""

    S7 = "s7comm"
    MODBUS = "modbus"
    SNMP = "snmp"
    HTTP = "http"
    FTP = "ftp"
    ENIP = "enip"
    BACNET = "bacnet"
    IPMI = "ipmi"
    TFTP = "tftp"


@dataclass(frozen=True)
class Vendor:
    name: str  # as the vendor writes itself in device identification (Modbus, SNMP, HTTP)
    snmp_enterprise: int  # IANA private enterprise number: sysObjectID lives under 1.3.6.1.4.1.<n>
    cip_vendor_id: int  # ODVA vendor id (EtherNet/IP ListIdentity)
    bacnet_vendor_id: int | None  # ASHRAE vendor id; None when the vendor makes no BACnet device
    bacnet_vendor_name: str | None
    ouis: tuple[str, ...]  # IEEE OUIs registered to the vendor, "00:1B:1B"


SIEMENS = Vendor("Siemens", 4329, 145, 7, "Siemens Schweiz AG (Formerly: Landis & Staefa Division Europe)",
                 ("00:1B:1B", "00:0E:8C", "28:63:36"))  # fmt: skip
SCHNEIDER = Vendor("Schneider Electric", 3833, 243, 10, "Schneider Electric", ("00:80:F4", "00:00:54"))
ROCKWELL = Vendor("Rockwell Automation/Allen-Bradley", 95, 1, None, None, ("00:00:BC", "5C:88:16", "E4:90:69"))


@dataclass(frozen=True)
class Firmware:
    version: str  # as the device prints it, e.g. "V4.4.0", "v2.90", "32.011"
    released: date


@dataclass(frozen=True)
class Model:
    """A device model that really exists, with the firmware it really shipped."""

    vendor: Vendor
    family: str  # "SIMATIC S7-1200"
    module_type: str  # the CPU's type name, e.g. "CPU 1214C DC/DC/DC"
    order_number: str  # vendor order number (MLFB / catalogue number)
    firmware: tuple[Firmware, ...]
    services: frozenset[Protocol]  # what the real device serves: only these are enabled
    cip_device_type: int  # CIP device profile (14 = programmable logic controller)
    cip_product_code: int
    snmp_object_suffix: str  # sysObjectID = 1.3.6.1.4.1.<enterprise>.<suffix>
    web_server: str  # the HTTP ``Server`` header of the device's web server
    serial_style: str  # key into _SERIAL_STYLES

    @property
    def sys_object_id(self) -> str:
        return f"1.3.6.1.4.1.{self.vendor.snmp_enterprise}.{self.snmp_object_suffix}"


_S7 = frozenset({Protocol.S7, Protocol.SNMP, Protocol.HTTP})
_MODICON = frozenset({Protocol.MODBUS, Protocol.SNMP, Protocol.HTTP})
_LOGIX = frozenset({Protocol.ENIP, Protocol.SNMP, Protocol.HTTP})


def _fw(version: str, year: int, month: int) -> Firmware:
    return Firmware(version, date(year, month, 1))


CATALOGUE: tuple[Model, ...] = (
    Model(SIEMENS, "SIMATIC S7-1200", "CPU 1214C DC/DC/DC", "6ES7 214-1AG40-0XB0",
          (_fw("V4.2.3", 2018, 6), _fw("V4.4.0", 2019, 11), _fw("V4.5.2", 2021, 11), _fw("V4.6.1", 2023, 5)),
          _S7, 14, 0, "1.2.1", "Siemens S7-1200 Web Server", "siemens"),
    Model(SIEMENS, "SIMATIC S7-1200", "CPU 1212C DC/DC/DC", "6ES7 212-1AE40-0XB0",
          (_fw("V4.2.3", 2018, 6), _fw("V4.4.0", 2019, 11), _fw("V4.5.2", 2021, 11)),
          _S7, 14, 0, "1.2.1", "Siemens S7-1200 Web Server", "siemens"),
    Model(SIEMENS, "SIMATIC S7-300", "CPU 315-2 PN/DP", "6ES7 315-2EH14-0AB0",
          (_fw("V3.2.8", 2012, 4), _fw("V3.2.14", 2016, 9), _fw("V3.2.17", 2019, 2)),
          _S7, 14, 0, "1.2.2", "Siemens S7-300 Web Server", "siemens"),
    Model(SIEMENS, "SIMATIC S7-300", "CPU 317-2 PN/DP", "6ES7 317-2EK14-0AB0",
          (_fw("V3.2.8", 2012, 4), _fw("V3.2.14", 2016, 9), _fw("V3.2.17", 2019, 2)),
          _S7, 14, 0, "1.2.2", "Siemens S7-300 Web Server", "siemens"),
    Model(SIEMENS, "SIMATIC S7-1500", "CPU 1511-1 PN", "6ES7 511-1AK02-0AB0",
          (_fw("V2.8.3", 2020, 3), _fw("V2.9.4", 2021, 11), _fw("V3.0.3", 2023, 8)),
          _S7, 14, 0, "1.2.3", "Siemens S7-1500 Web Server", "siemens"),
    Model(SCHNEIDER, "Modicon M340", "BMX P34 2020", "BMXP342020",
          (_fw("v2.80", 2016, 6), _fw("v3.01", 2018, 5), _fw("v3.20", 2020, 10)),
          _MODICON, 14, 2051, "1.7.255.3", "Schneider-WEB/V2.1.4", "schneider"),
    Model(SCHNEIDER, "Modicon M580", "BME P58 2040", "BMEP582040",
          (_fw("v2.90", 2019, 4), _fw("v3.20", 2021, 3), _fw("v4.10", 2022, 12)),
          _MODICON | {Protocol.ENIP}, 14, 2091, "1.7.255.5", "Schneider-WEB/V3.0.1", "schneider"),
    Model(ROCKWELL, "CompactLogix 5370", "1769-L33ER/A LOGIX5333ER", "1769-L33ER",
          (_fw("28.012", 2016, 10), _fw("30.014", 2018, 2), _fw("32.011", 2020, 1), _fw("33.011", 2021, 5)),
          _LOGIX, 14, 103, "1.1769", "GoAhead-Webs", "rockwell"),
    Model(ROCKWELL, "CompactLogix 5370", "1769-L36ERM/A LOGIX5336ERM", "1769-L36ERM",
          (_fw("28.012", 2016, 10), _fw("30.014", 2018, 2), _fw("32.011", 2020, 1)),
          _LOGIX, 14, 109, "1.1769", "GoAhead-Webs", "rockwell"),
    Model(ROCKWELL, "ControlLogix 5570", "1756-L71/B LOGIX5571", "1756-L71",
          (_fw("24.011", 2014, 4), _fw("28.012", 2016, 10), _fw("32.011", 2020, 1)),
          _LOGIX, 14, 94, "1.1756", "GoAhead-Webs", "rockwell"),
)  # fmt: skip


# Per-instance words. Sites are plausible small utilities and plants; none is a real operator.
_TOWNS = (
    "Ashford", "Bramley", "Carrow", "Dunmore", "Eastleigh", "Fenwick", "Glenrock", "Harlow", "Ingleby",
    "Kelso", "Lydford", "Marston", "Northam", "Oakridge", "Pembury", "Quarry Hill", "Redmond", "Selby",
    "Thornbury", "Upton", "Valley Forge", "Westbury", "Yardley", "Aldergrove", "Birchwood", "Clayton",
    "Deepdale", "Elmstead", "Foxhall", "Greystone", "Hillcrest", "Ironbridge", "Juniper Falls",
)  # fmt: skip
_FACILITIES = (
    ("Water Treatment Plant", "WTP"), ("Wastewater Works", "WWW"), ("Pump Station", "PS"),
    ("Booster Station", "BS"), ("Reservoir", "RES"), ("Substation", "SS"), ("Compressor Station", "CS"),
    ("Bottling Line", "BL"), ("Boiler House", "BH"), ("Chiller Plant", "CP"), ("Intake Works", "IW"),
)  # fmt: skip
_AREAS = ("Filtration", "Dosing", "Intake", "Clarifier", "Blower", "Filler", "Packaging", "Cooling", "Pumps")
_PEOPLE = (
    "j.miller", "a.novak", "s.kaur", "m.rossi", "t.nguyen", "l.schmidt", "r.okafor", "e.larsen", "d.murphy",
    "k.tanaka", "p.silva", "h.berg", "c.dubois", "n.ivanova", "b.walsh", "f.moreau",
)  # fmt: skip
_DOMAINS = ("utility.local", "plant.lan", "ot.internal", "scada.local", "ctrl.lan")
_TANK_PRODUCTS = (
    ("UNLEADED", "PREMIUM", "DIESEL", "SUPER"),
    ("REGULAR", "PLUS", "DIESEL", "KEROSENE"),
    ("UNLEADED 95", "UNLEADED 98", "DIESEL", "RED DIESEL"),
    ("REGULAR", "MIDGRADE", "PREMIUM", "DIESEL"),
)  # fmt: skip
_STATION_BRANDS = ("QUIKFUEL", "ROADSTAR", "PETROWAY", "FUELSTOP", "GASMART", "TRAILHEAD FUELS", "CORNER PUMP")
_KAMSTRUP_OUI = "00:13:EA"  # Kamstrup A/S: a real meter's MAC starts with it (the NIC part must not be zero)


class _Draw:
    """Deterministic draws from a seed: SHAKE-256 as a byte stream (stable across Python versions)."""

    def __init__(self, seed: str) -> None:
        self._stream = hashlib.shake_256(b"ics-honeynet persona v1\0" + seed.encode("utf-8")).digest(1024)
        self._at = 0

    def bits(self, n: int) -> int:
        size = (n + 7) // 8
        if self._at + size > len(self._stream):
            raise RuntimeError("persona draw exhausted")  # a catalogue bug, not a runtime condition
        value = int.from_bytes(self._stream[self._at : self._at + size], "big")
        self._at += size
        return value >> (size * 8 - n)

    def below(self, n: int) -> int:
        """Uniform in [0, n) by rejection (no modulo bias)."""
        width = max(1, (n - 1).bit_length())
        while True:
            value = self.bits(width)
            if value < n:
                return value

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def text(self, alphabet: str, length: int) -> str:
        return "".join(self.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class S7Identity:
    """SZL 0x001C (component identification) and 0x0011 (module identification)."""

    system_name: str  # index 1: automation system name (24 bytes)
    module_name: str  # index 2: module name (24 bytes)
    plant_identification: str  # index 3 (32 bytes)
    copyright: str  # index 4 (26 bytes): a Siemens constant on real CPUs
    serial_number: str  # index 5 (24 bytes)
    module_type_name: str  # index 7 (32 bytes)
    location: str  # index 11 (32 bytes)
    order_number: str  # SZL 0x0011 index 1 (20 bytes)


@dataclass(frozen=True)
class SnmpIdentity:
    sys_descr: str
    sys_object_id: str
    sys_contact: str
    sys_name: str
    sys_location: str
    sys_services: int


@dataclass(frozen=True)
class ModbusIdentity:
    vendor_name: str
    product_code: str
    revision: str


@dataclass(frozen=True)
class EnipIdentity:
    vendor_id: int
    device_type: int
    product_code: int
    revision_major: int
    revision_minor: int
    serial_number: int
    product_name: str
    status_word: int  # 0x0030: owned, configured (a running controller)
    state: int  # 3: operational

    @property
    def product_revision(self) -> int:
        """The CIP INT as cpppo's ``Product Revision`` holds it: major in the low byte, minor in the high."""
        return self.revision_major | self.revision_minor << 8


@dataclass(frozen=True)
class BacnetIdentity:
    device_instance: int  # 0 .. 4194302
    vendor_id: int
    vendor_name: str
    model_name: str
    object_name: str
    firmware_revision: str


@dataclass(frozen=True)
class HttpIdentity:
    server: str
    last_modified: date  # of the device's pages: the firmware's build, never before its release
    title: str  # page title prefix, e.g. "SIMATIC S7-1200 CPU 1214C DC/DC/DC"
    heading: str


@dataclass(frozen=True)
class FtpIdentity:
    banner: str  # the text after the reply code
    motd: str
    syst: str


@dataclass(frozen=True)
class IpmiUser:
    name: str
    password: str
    privilege: int  # 1 callback .. 4 administrator


@dataclass(frozen=True)
class IpmiIdentity:
    device_name: str
    users: tuple[IpmiUser, ...]


@dataclass(frozen=True)
class KamstrupIdentity:
    """The kamstrup_382 template: a smart meter's management identity."""

    mac_address: str
    device_name: str
    kap_server_hostname: str
    kap_server_ip: str
    meter_number: str  # channel A/B meter number as the meter prints it (hex byte pairs)


@dataclass(frozen=True)
class GuardianIdentity:
    """The guardian_ast template: a tank gauge's station header and products."""

    station_name: str
    products: tuple[str, str, str, str]


@dataclass(frozen=True)
class Persona:
    seed: str
    model: Model
    firmware: Firmware
    site: str  # plant / facility name
    station: str  # automation system name
    hostname: str
    mac_address: str
    s7: S7Identity
    snmp: SnmpIdentity
    modbus: ModbusIdentity
    enip: EnipIdentity
    bacnet: BacnetIdentity | None
    http: HttpIdentity
    ftp: FtpIdentity
    ipmi: IpmiIdentity
    kamstrup: KamstrupIdentity
    guardian: GuardianIdentity

    @property
    def vendor(self) -> Vendor:
        return self.model.vendor

    @property
    def services(self) -> frozenset[Protocol]:
        return self.model.services

    def identifying_values(self) -> dict[str, str]:
        """The per-instance values that tell one device from another (two personas share none)."""
        return {
            "site": self.site,
            "station": self.station,
            "hostname": self.hostname,
            "mac_address": self.mac_address,
            "s7.serial_number": self.s7.serial_number,
            "s7.module_name": self.s7.module_name,
            "snmp.sys_location": self.snmp.sys_location,
            "enip.serial_number": str(self.enip.serial_number),
            "bacnet.device_instance": str(self.bacnet.device_instance) if self.bacnet else "",
            "ipmi.device_name": self.ipmi.device_name,
            "kamstrup.mac_address": self.kamstrup.mac_address,
            "kamstrup.kap_server_hostname": self.kamstrup.kap_server_hostname,
            "kamstrup.meter_number": self.kamstrup.meter_number,
            "guardian.station_name": self.guardian.station_name,
        }


_UPPER = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I/O: serials avoid them
_DIGITS = "0123456789"
_PASSWORD = _UPPER + _DIGITS + "abcdefghkmnpqrstuvwxyz"


def _serial(style: str, draw: _Draw, made: date) -> str:
    if style == "siemens":
        # Siemens CPUs print "S C-" + a 4-character production code + 8 digits ending in the build year.
        return (
            f"S C-{draw.choice(_UPPER)}{draw.choice(_DIGITS)}{draw.text(_UPPER, 2)}{draw.text(_DIGITS, 4)}{made.year}"
        )
    if style == "schneider":
        return f"{draw.text(_DIGITS, 2)}{made.strftime('%y%W')}{draw.text(_UPPER, 1)}{draw.text(_DIGITS, 6)}"
    return f"{draw.between(0x00100000, 0xFFFFFFFF):08X}"  # Rockwell: a 32-bit number, printed in hex


def _mac(oui: str, draw: _Draw) -> str:
    nic = draw.between(0x000001, 0xFFFFFE)
    return f"{oui}:{nic >> 16:02X}:{(nic >> 8) & 0xFF:02X}:{nic & 0xFF:02X}"


def _ip(draw: _Draw) -> str:
    """A private address of a plant network (10/8 or 172.16/12)."""
    if draw.below(2):
        return f"10.{draw.between(0, 255)}.{draw.between(0, 255)}.{draw.between(2, 254)}"
    return f"172.{draw.between(16, 31)}.{draw.between(0, 255)}.{draw.between(2, 254)}"


def persona_for(seed: str) -> Persona:
    """The persona of ``seed``: the same seed always gives the same persona."""
    if not seed:
        raise ValueError("a persona needs a non-empty seed (the task's identity or a pinned name)")
    draw = _Draw(seed)
    model = draw.choice(CATALOGUE)
    vendor = model.vendor
    firmware = draw.choice(model.firmware)
    # The device left the factory with its firmware or shortly after; its pages were built then.
    built = firmware.released + timedelta(days=draw.between(0, 60))
    town = draw.choice(_TOWNS)
    facility, code = draw.choice(_FACILITIES)
    number = draw.between(1, 999)
    site = f"{town} {facility} {number}"
    site_code = f"{town[:3].upper()}{code}{number:03d}"
    area = draw.choice(_AREAS)
    unit = draw.between(1, 999)
    station = f"{site_code}-{area[:4].upper()}-{unit:03d}"
    domain = draw.choice(_DOMAINS)
    hostname = f"{station.lower()}.{domain}"
    mac = _mac(draw.choice(vendor.ouis), draw)
    building = draw.between(1, 60)
    location = f"{town}, Bldg {building}, {area} room {draw.between(1, 40)}"
    contact = f"{draw.choice(_PEOPLE)}@{domain}"
    serial = _serial(model.serial_style, draw, built)
    major, _, minor = firmware.version.lstrip("Vv").partition(".")

    s7 = S7Identity(
        system_name=station[:24],
        module_name=f"PLC_{site_code}_{unit:03d}"[:24],
        plant_identification=site if len(site) <= 32 else f"{town} {code} {number}",
        copyright="Original Siemens Equipment",
        serial_number=serial,
        module_type_name=model.module_type[:32],
        location=location[:32],
        order_number=model.order_number[:20],
    )
    descr = {
        "Siemens": f"Siemens, {model.family}, {model.module_type}, {model.order_number}, FW: {firmware.version}",
        "Schneider Electric": f"Schneider Electric {model.family} {model.module_type} Firmware {firmware.version}",
    }.get(vendor.name, f"{vendor.name} {model.module_type} Firmware {firmware.version}")
    snmp = SnmpIdentity(descr, model.sys_object_id, contact, station, location, 72)
    modbus = ModbusIdentity(vendor.name, model.module_type, firmware.version)
    enip = EnipIdentity(
        vendor_id=vendor.cip_vendor_id,
        device_type=model.cip_device_type,
        product_code=model.cip_product_code,
        revision_major=int(major or 1) % 256,
        revision_minor=int("".join(c for c in minor.split(".")[0] if c.isdigit()) or 0) % 256,
        serial_number=draw.between(0x00100000, 0xFFFFFFFE),
        product_name=model.module_type[:32],
        status_word=0x0030,
        state=3,
    )
    bacnet = (
        BacnetIdentity(
            device_instance=draw.between(1000, 4194302),
            vendor_id=vendor.bacnet_vendor_id,
            vendor_name=vendor.bacnet_vendor_name or vendor.name,
            model_name=model.module_type,
            object_name=station,
            firmware_revision=firmware.version,
        )
        if vendor.bacnet_vendor_id is not None
        else None
    )
    http = HttpIdentity(model.web_server, built, f"{model.family} {model.module_type}", station)
    ftp = FtpIdentity(
        f"{model.module_type} FTP server ({firmware.version}) ready", f"{site} - authorised users only", "UNIX Type: L8"
    )
    bmc = f"{site_code.lower()}-bmc{draw.between(1, 99):02d}"
    ipmi = IpmiIdentity(
        device_name=bmc,
        users=(
            IpmiUser(draw.choice(("ADMIN", "admin", "root")), draw.text(_PASSWORD, 14), 4),
            IpmiUser(draw.choice(_PEOPLE).replace(".", ""), draw.text(_PASSWORD, 12), 2),
        ),
    )  # fmt: skip
    meter = draw.bits(32)
    kamstrup = KamstrupIdentity(
        mac_address=_mac(_KAMSTRUP_OUI, draw),
        device_name=f"{site_code.lower()}-meter{draw.between(1, 99):02d}",
        kap_server_hostname=f"kap{draw.between(1, 9)}.{town.lower().replace(' ', '')}-energy.{domain}",
        kap_server_ip=_ip(draw),
        meter_number=" ".join(f"{b:02X}" for b in (0xA1, 0x06, 0xA1, 0x02, *meter.to_bytes(4, "big"), 0x00, 0x03)),
    )
    guardian = GuardianIdentity(
        station_name=f"{draw.choice(_STATION_BRANDS)} {town.upper()} {draw.between(100, 9999)}",
        products=draw.choice(_TANK_PRODUCTS),
    )
    return Persona(
        seed=seed,
        model=model,
        firmware=firmware,
        site=site,
        station=station,
        hostname=hostname,
        mac_address=mac,
        s7=s7,
        snmp=snmp,
        modbus=modbus,
        enip=enip,
        bacnet=bacnet,
        http=http,
        ftp=ftp,
        ipmi=ipmi,
        kamstrup=kamstrup,
        guardian=guardian,
    )


# ------------------------------------------------------------------------------------------------
# Attribution: which persona a task served, as the sweep records it with each tenure.
# ------------------------------------------------------------------------------------------------
# The PersonaSeed that serves Conpot's stock template unchanged (a control arm, README "Personas").
STOCK = "stock"
# What the stock templates other than ``default`` are, whatever the persona (their identity keys
# are the persona's; the device kind is the template's).
_TEMPLATE_DEVICES = {
    "IEC104": "Siemens SIMATIC S7-300 / CP 343-1 (IEC 104)",
    "guardian_ast": "Veeder-Root Guardian AST tank gauge",
    "ipmi": "IPMI baseboard management controller",
    "kamstrup_382": "Kamstrup 382 electricity meter",
}


@dataclass(frozen=True)
class PersonaLabel:
    """A persona as a researcher reads it: a stable short id and the device it presents."""

    id: str  # "p-" + 10 hex digits of the seed's hash, or "stock"
    model: str


def persona_seed(task_arn: str, pinned: str) -> str:
    """The seed a task's persona is drawn from: the pinned PersonaSeed, else the task's ARN."""
    return pinned or task_arn


def tenure_persona(task_arn: str, template: str, *, pinned: str) -> PersonaLabel:
    """The label of the persona the task ``task_arn`` served (the init container's seed)."""
    return persona_label(persona_seed(task_arn, pinned), template)


def persona_label(seed: str, template: str) -> PersonaLabel:
    """The label of the persona ``seed`` gives a task serving Conpot's ``template``."""
    if seed == STOCK:
        return PersonaLabel(STOCK, f"Conpot stock template {template}")
    digest = hashlib.sha256(b"ics-honeynet persona id\0" + seed.encode("utf-8")).hexdigest()
    if template in _TEMPLATE_DEVICES:
        return PersonaLabel(f"p-{digest[:10]}", _TEMPLATE_DEVICES[template])
    persona = persona_for(seed)
    return PersonaLabel(
        f"p-{digest[:10]}", f"{persona.vendor.name} {persona.model.module_type} {persona.firmware.version}"
    )
