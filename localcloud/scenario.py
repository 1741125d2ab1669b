"""Scenarios: what the local Shodan "knows" about the honeypots' IPs, in YAML users can edit.

IPs are handed out as tasks start, so a scenario describes honeypot *slots* in start order
(the first task started gets the first profile, and so on), plus what Shodan knows about the
IPs of replacement tasks started later (rotation). See scenarios/default.yaml for the format.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

KINDS = ("not_indexed", "indexed", "fingerprinted", "stale")
DEFAULT_PORTS = (21, 80, 102, 161, 502, 44818, 47808)  # Conpot's default template, as T-Pot runs it
SHODAN_TIME = "%Y-%m-%dT%H:%M:%S.%f"  # Shodan's timestamps: ISO 8601, no zone, UTC


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Profile:
    """What Shodan knows about one IP."""

    kind: str = "not_indexed"
    ports: tuple[int, ...] = DEFAULT_PORTS
    tags: tuple[str, ...] = ()
    honeyscore: float | None = None
    org: str = "Amazon Technologies Inc."
    # Hours between the task's start and Shodan's banners; negative: before the task started
    # (a prior owner of a recycled IP).
    banner_age_hours: float = 2.0


@dataclass(frozen=True)
class ExtraIp:
    ip: str
    profile: Profile


@dataclass(frozen=True)
class ShodanSettings:
    api_key: str = "local-shodan-key"
    rate_limit_per_s: float | None = None


@dataclass
class Scenario:
    description: str = ""
    shodan: ShodanSettings = field(default_factory=ShodanSettings)
    honeypots: list[Profile] = field(default_factory=list)
    replacements: list[Profile] = field(default_factory=list)
    default_replacement: Profile = field(default_factory=Profile)
    extra_ips: list[ExtraIp] = field(default_factory=list)

    def profile_for_slot(self, slot: int) -> Profile:
        """Slots 0..N-1 are the first tasks; later slots are replacements, in order."""
        if slot < len(self.honeypots):
            return self.honeypots[slot]
        index = slot - len(self.honeypots)
        return self.replacements[index] if index < len(self.replacements) else self.default_replacement


# ---------------------------------------------------------------------------------------------
def _profile(raw: Any, where: str) -> Profile:
    if isinstance(raw, str):
        raw = {"shodan": raw}
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a profile (a mapping or one of {', '.join(KINDS)})")
    unknown = set(raw) - {"name", "shodan", "ports", "tags", "honeyscore", "org", "banner_age_hours"}
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    kind = raw.get("shodan", "not_indexed")
    if kind not in KINDS:
        raise ScenarioError(f"{where}.shodan: {kind!r} is not one of {', '.join(KINDS)}")
    defaults = {"fingerprinted": (("honeypot",), 1.0, 2.0), "stale": (("honeypot",), None, -72.0)}
    tags, honeyscore, age = defaults.get(kind, ((), None, 2.0))
    try:
        ports = tuple(int(p) for p in raw.get("ports", DEFAULT_PORTS))
        score = raw.get("honeyscore", honeyscore)
        score = None if score is None else float(score)
        age = float(raw.get("banner_age_hours", age))
    except (TypeError, ValueError) as error:
        raise ScenarioError(f"{where}: {error}") from None
    if score is not None and not 0.0 <= score <= 1.0:
        raise ScenarioError(f"{where}.honeyscore: must be between 0.0 and 1.0")
    if kind == "stale" and age >= 0:
        raise ScenarioError(f"{where}.banner_age_hours: a stale profile's banners predate the task (negative hours)")
    return Profile(
        kind=kind,
        ports=ports,
        tags=tuple(str(t) for t in raw.get("tags", tags)),
        honeyscore=score,
        org=str(raw.get("org", Profile.org)),
        banner_age_hours=age,
    )


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a YAML mapping")
    unknown = set(data) - {"description", "shodan", "honeypots", "replacements", "default_replacement", "extra_ips"}
    if unknown:
        raise ScenarioError(f"{source}: unknown field(s) {', '.join(sorted(unknown))}")
    shodan = data.get("shodan") or {}
    try:
        rate = shodan.get("rate_limit_per_s")
        settings = ShodanSettings(
            api_key=str(shodan.get("api_key", ShodanSettings.api_key)),
            rate_limit_per_s=None if rate in (None, 0) else float(rate),
        )
    except (AttributeError, TypeError, ValueError) as error:
        raise ScenarioError(f"{source}: shodan: {error}") from None
    honeypots = data.get("honeypots") or []
    replacements = data.get("replacements") or []
    if not isinstance(honeypots, list) or not isinstance(replacements, list):
        raise ScenarioError(f"{source}: honeypots and replacements are lists of profiles")
    extras = []
    for i, raw in enumerate(data.get("extra_ips") or []):
        if not isinstance(raw, dict) or "ip" not in raw:
            raise ScenarioError(f"{source}: extra_ips[{i}] needs an 'ip'")
        try:
            ipaddress.ip_address(str(raw["ip"]))
        except ValueError:
            raise ScenarioError(f"{source}: extra_ips[{i}].ip: {raw['ip']!r} is not an IP address") from None
        profile = _profile({k: v for k, v in raw.items() if k != "ip"}, f"{source}: extra_ips[{i}]")
        extras.append(ExtraIp(str(raw["ip"]), profile))
    return Scenario(
        description=str(data.get("description", "")),
        shodan=settings,
        honeypots=[_profile(p, f"{source}: honeypots[{i}]") for i, p in enumerate(honeypots)],
        replacements=[_profile(p, f"{source}: replacements[{i}]") for i, p in enumerate(replacements)],
        default_replacement=_profile(data.get("default_replacement", "not_indexed"), f"{source}: default_replacement"),
        extra_ips=extras,
    )


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: not valid YAML: {error}") from None
    return parse_scenario(data, str(path))


# ---------------------------------------------------------------------------------------------
# Realistic Shodan host documents for a Conpot honeypot (its well-known default fingerprints)
# ---------------------------------------------------------------------------------------------
_BANNERS: dict[int, tuple[str, str, str, dict[str, Any]]] = {
    # port: (transport, module, raw banner, extra fields)
    21: ("tcp", "ftp", "220 Technodrome - Mouser Factory FTP server ready.\r\n", {"product": "Conpot FTP"}),
    80: (
        "tcp",
        "http",
        "HTTP/1.1 200 OK\r\nServer: Apache\r\nLast-Modified: Tue, 19 May 1993 09:00:00 GMT\r\n"
        "Content-Type: text/html\r\n\r\n",
        {"http": {"title": "Overview - Siemens, SIMATIC, S7-200", "status": 200}},
    ),
    102: (
        "tcp",
        "s7",
        "Copyright: Original Siemens Equipment\nPLC name: Technodrome\nModule type: CPU 315-2 PN/DP\n"
        "Unknown (129): Boot Loader           A\nModule: 6ES7 315-2EH14-0AB0  v.0.0\n"
        "Basic Firmware: v.0.0\nModule name: Siemens, SIMATIC, S7-200\nSerial number of module: 88111222\n"
        "Plant identification: Mouser Factory\nBasic Hardware: 6ES7 315-2EH14-0AB0  v.0.0\n",
        {"product": "Siemens S7 PLC"},
    ),
    161: (
        "udp",
        "snmp",
        "SNMP:\n  Versions:\n    1\n  Description: Siemens, SIMATIC, S7-200\n  Location: Venus\n",
        {"snmp": {"description": "Siemens, SIMATIC, S7-200", "location": "Venus"}},
    ),
    502: (
        "tcp",
        "modbus",
        "Unit ID: 0\n  -- Slave ID Data: Siemens SIMATIC S7-200\n  -- Device Identification: Siemens SIMATIC S7-200 "
        "CP 443-1 EX40\n",
        {"product": "Modbus"},
    ),
    44818: (
        "tcp",
        "ethernetip",
        "Product name: 1756-L61/B LOGIX5561\nVendor ID: Rockwell Automation/Allen-Bradley\nSerial number: "
        "0x006c061a (7079450)\nDevice type: Programmable Logic Controller\n",
        {"product": "Rockwell Automation/Allen-Bradley"},
    ),
    47808: (
        "udp",
        "bacnet",
        "Instance ID: 10\nObject Name: Technodrome\nVendor Name: Siemens Building Technologies Inc.\n"
        "Model Name: Siemens, SIMATIC, S7-200\nLocation: Venus\n",
        {"product": "BACnet"},
    ),
}


def _banner(ip: str, port: int, when: datetime, org: str) -> dict[str, Any]:
    transport, module, raw, extra = _BANNERS.get(port, ("tcp", "unknown", f"banner on port {port}\n", {}))
    return {
        "ip_str": ip,
        "ip": int(ipaddress.ip_address(ip)),
        "port": port,
        "transport": transport,
        "timestamp": when.strftime(SHODAN_TIME),
        "data": raw,
        "org": org,
        "isp": org,
        "hostnames": [],
        "domains": [],
        "_shodan": {
            "id": f"{int(ipaddress.ip_address(ip)):x}-{port}",
            "module": module,
            "crawler": "f4f8d3f2a5e3c0d1b9a7e6c5d4b3a2f1e0d9c8b7",
            "ptr": True,
            "options": {},
        },
        **extra,
    }


def render_host(ip: str, profile: Profile, task_started_at: datetime, now: datetime) -> dict[str, Any] | None:
    """The Shodan host document for ``ip`` under ``profile``; None when Shodan has nothing."""
    if profile.kind == "not_indexed":
        return None
    seen = task_started_at + timedelta(hours=profile.banner_age_hours)
    # Shodan's crawlers reach the ports one after another: each banner 7 minutes before the last.
    stamps = [seen - timedelta(minutes=7 * i) for i in range(len(profile.ports))]
    if profile.kind != "stale":
        # A scenario's honeypot banners are ours: Shodan cannot have seen this task before it
        # started, nor in the future. Only a `stale` profile dates banners before the task.
        stamps = [min(max(stamp, task_started_at), now) for stamp in stamps]
    banners = [_banner(ip, port, stamp, profile.org) for port, stamp in zip(profile.ports, stamps, strict=True)]
    tags = sorted(set(profile.tags) | ({"ics"} if set(profile.ports) & {102, 502, 47808, 44818} else set()))
    host: dict[str, Any] = {
        "ip_str": ip,
        "ip": int(ipaddress.ip_address(ip)),
        "ports": sorted(profile.ports),
        "hostnames": [],
        "domains": [],
        "org": profile.org,
        "isp": "Amazon.com",
        "asn": "AS16509",
        "os": None,
        "country_code": "US",
        "country_name": "United States",
        "city": "Ashburn",
        "region_code": "VA",
        "latitude": 39.0438,
        "longitude": -77.4874,
        "last_update": max(b["timestamp"] for b in banners) if banners else seen.strftime(SHODAN_TIME),
        "data": banners,
    }
    if tags:
        host["tags"] = tags
    return host
