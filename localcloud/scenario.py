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
ROTATE_ON = ("never", "indexed", "fingerprinted")
DEFAULT_PORTS = (21, 80, 102, 161, 502, 44818, 47808)  # Conpot's default template, as T-Pot runs it
SHODAN_TIME = "%Y-%m-%dT%H:%M:%S.%f"  # Shodan's timestamps: ISO 8601, no zone, UTC


class ScenarioError(ValueError):
    """A scenario file that does not match SCHEMA; the message names the file, entry and field."""


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
    name: str | None = None  # the scenario's label, printed next to the task
    # Shodan indexes the IP this many minutes after the task started (None: as ``kind`` says from
    # the start); then Shodan Monitor pushes each banner to the alerts watching the IP.
    indexed_after_minutes: float | None = None
    # Shodan InternetDB (weekly data) shows what Shodan has on the IP this many minutes after
    # Shodan had it (None: not during the run, InternetDB's refresh has not come yet).
    internetdb_after_minutes: float | None = None
    # Censys lists the IP's services (the profile's ports) this many minutes after the task
    # started (None: never during the run, its 404), labelled ``censys_labels``.
    censys_after_minutes: float | None = None
    censys_labels: tuple[str, ...] = ()
    # make report (a scenario over simulated hours): when Shodan indexes / fingerprints the IP,
    # in hours after the task started (None: never), and the attacks the honeypot draws.
    indexed_after_hours: float | None = None
    fingerprinted_after_hours: float | None = None
    attacks_per_hour: float = 8.0


@dataclass(frozen=True)
class ExtraIp:
    ip: str
    profile: Profile


@dataclass(frozen=True)
class ShodanSettings:
    api_key: str = "local-shodan-key"
    rate_limit_per_s: float | None = None
    scan_credits: int = 100
    scan_delay_minutes: float = 0.0  # Shodan's time; the local cloud scales it like every wait
    monitored_ips: int = 16  # the plan's alert credits (Shodan Monitor): a Membership watches 16 IPs


@dataclass(frozen=True)
class CensysSettings:
    """The local Censys Platform API; ``token`` None: the stack has no Censys token (Censys off)."""

    token: str | None = None


@dataclass(frozen=True)
class ReportSettings:
    """How ``make report`` plays the scenario: simulated hours, the sweep's schedule, the traffic."""

    hours: int = 48
    sweep_every_hours: int = 6
    seed: int = 1
    effect_indexed: float = 1.0  # attacks per hour multiplied by this once Shodan indexed the IP
    effect_fingerprinted: float = 1.0  # and by this once Shodan tagged it honeypot
    burst_shape: float = 4.0
    daily_amplitude: float = 0.4
    campaign_sd: float = 0.3
    crawler_lead_hours: float = 3.0
    censys_visits_per_day: float = 2.0
    records_per_session: int = 3


@dataclass
class Scenario:
    description: str = ""
    shodan: ShodanSettings = field(default_factory=ShodanSettings)
    censys: CensysSettings = field(default_factory=CensysSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    honeypots: list[Profile] = field(default_factory=list)
    replacements: list[Profile] = field(default_factory=list)
    default_replacement: Profile = field(default_factory=Profile)
    extra_ips: list[ExtraIp] = field(default_factory=list)
    # How `python -m localcloud run` runs it (its flags override these); None: the CLI's default.
    rotate_on: str | None = None
    experiment: bool = False  # the ExperimentMode parameter on
    tasks: int | None = None
    time_scale: float | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def profile_for_slot(self, slot: int) -> Profile:
        """Slots 0..N-1 are the first tasks; later slots are replacements, in order."""
        if slot < len(self.honeypots):
            return self.honeypots[slot]
        index = slot - len(self.honeypots)
        return self.replacements[index] if index < len(self.replacements) else self.default_replacement


# ---------------------------------------------------------------------------------------------
# The schema: every field a scenario file may hold, its type, its range and what it means. It is
# the one place scenarios are checked, and the documentation `python -m localcloud run --help`
# prints (scenario_help()).
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    kind: str  # text | number | whole | flag | list:text | list:port | choice | mapping | profile | profiles
    doc: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    fields: dict[str, Field] | None = None  # a mapping's own fields


_TYPE_NAMES = {
    "text": "a string",
    "number": "a number",
    "whole": "a whole number",
    "list:text": "a list of strings, e.g. [honeypot, ics]",
    "list:port": "a list of ports (whole numbers 1-65535), e.g. [80, 502]",
    "mapping": "a mapping",
    "flag": "true or false",
}

PROFILE_FIELDS: dict[str, Field] = {
    "name": Field("text", "a label for this honeypot, printed next to the task that gets it"),
    "shodan": Field(
        "choice",
        "what Shodan knows: not_indexed (404), indexed (banners since the task started), fingerprinted "
        "(indexed and tagged honeypot, honeyscore 1.0 unless set), stale (banners of a prior owner, "
        "before the task started)",
        choices=KINDS,
    ),
    "ports": Field("list:port", "ports Shodan has banners for (default: Conpot's default template)", low=1, high=65535),
    "tags": Field("list:text", "Shodan's host tags (fingerprinted and stale: [honeypot])"),
    "honeyscore": Field("number", "Shodan's honeyscore, 0.0-1.0 (default: none; fingerprinted: 1.0)", low=0, high=1),
    "org": Field("text", "the organisation Shodan reports (default: Amazon Technologies Inc.)"),
    "banner_age_hours": Field(
        "number",
        "hours from the task's start to Shodan's banners (default 2; stale: -72, must be negative); "
        "never later than now",
    ),
    "indexed_after_minutes": Field(
        "number",
        "indexed or fingerprinted only this many minutes after the task started (scaled like waits; "
        "banners stamped then), and pushed to the Shodan Monitor alerts watching the IP",
        low=0,
    ),
    "internetdb_after_minutes": Field(
        "number",
        "Shodan InternetDB (weekly data) shows what Shodan has on the IP this many minutes after Shodan "
        "had it (0: at once; scaled like waits); default: not during the run (its 404)",
        low=0,
    ),
    "censys_after_minutes": Field(
        "number",
        "Censys lists the IP's services (its ports) this many minutes after the task started (0: at once; "
        "scaled like waits); default: not during the run (its 404). Asked only with a censys token",
        low=0,
    ),
    "censys_labels": Field("list:text", "the labels Censys puts on the host (e.g. [honeypot]; default none)"),
    "indexed_after_hours": Field(
        "number", "make report: Shodan indexes the IP this many hours after the task started (default never)", low=0
    ),
    "fingerprinted_after_hours": Field(
        "number", "make report: Shodan tags it honeypot this many hours after the task started (default never)", low=0
    ),
    "attacks_per_hour": Field("number", "make report: attack sessions per hour before any exposure (default 8)", low=0),
}
EXTRA_IP = Field("text", "the honeypot's IP address (listed in the ExtraHoneypotIps parameter)")

SCHEMA: dict[str, Field] = {
    "description": Field("text", "one line: what this scenario shows"),
    "shodan": Field(
        "mapping",
        "the local Shodan API",
        fields={
            "api_key": Field("text", "the key it accepts (the local cloud stores it in SSM)"),
            "rate_limit_per_s": Field("number", "requests/s per key it allows; 0: no limit (Shodan: 1)", low=0),
            "scan_credits": Field("whole", "scan credits of the key (default 100; 1 per IP scanned)", low=0),
            "scan_delay_minutes": Field(
                "number", "minutes from a scan request to the IP in the index (default 0; scaled like waits)", low=0
            ),
            "monitored_ips": Field("whole", "IPs the plan's Shodan Monitor alerts may watch (default 16)", low=0),
        },
    ),
    "censys": Field(
        "mapping",
        "the local Censys Platform API (the optional second index)",
        fields={
            "token": Field(
                "text",
                "the personal access token it accepts; the local cloud stores it in SSM and sets "
                "CensysTokenParameter (no censys section: Censys off)",
            ),
        },
    ),
    "run": Field(
        "mapping",
        "how python -m localcloud run runs this scenario (its flags override these)",
        fields={
            "rotate_on": Field("choice", "the RotateOn parameter (default never)", choices=ROTATE_ON),
            "experiment": Field(
                "flag", "ExperimentMode on: fresh honeypots drawn into arms, the treatment scanned (default false)"
            ),
            "tasks": Field("whole", "honeypot tasks per Conpot template (default: one per entry of honeypots)", low=0),
            "time_scale": Field("number", "factor on the ASL's Retry/Wait intervals (default 0.01)", low=1e-6),
            "parameters": Field(
                "mapping", "template parameters, e.g. {MapConcurrency: 3, RotateOn: indexed}", fields={}
            ),
        },
    ),
    "report": Field(
        "mapping",
        "how make report plays the scenario over simulated hours (python -m localcloud report)",
        fields={
            "hours": Field("whole", "simulated hours played (default 48)", low=12, high=24 * 30),
            "sweep_every_hours": Field("whole", "the sweep's schedule, in hours (default 6)", low=1),
            "seed": Field("whole", "the traffic's random seed (default 1)", low=0),
            "effect_indexed": Field(
                "number",
                "attacks per hour multiplied by this once Shodan indexed a honeypot (default 1: none)",
                low=0.01,
                high=100,
            ),
            "effect_fingerprinted": Field(
                "number", "and by this once Shodan tagged it honeypot (default 1: none)", low=0.01, high=100
            ),
            "burst_shape": Field(
                "number", "gamma shape of each hour's burst, smaller is burstier (default 4)", low=0.1
            ),
            "daily_amplitude": Field("number", "the daily cycle's swing around 1 (default 0.4)", low=0, high=0.95),
            "campaign_sd": Field("number", "log-sd of each day's level shared by all honeypots (default 0.3)", low=0),
            "crawler_lead_hours": Field(
                "number", "Shodan's crawler visits up to this long before it indexes (default 3)", low=0.5
            ),
            "censys_visits_per_day": Field("number", "Censys scanner visits per honeypot per day (default 2)", low=0),
            "records_per_session": Field("whole", "Conpot records per session, at most (default 3)", low=1, high=20),
        },
    ),
    "honeypots": Field("profiles", "one profile per honeypot task, in the order the tasks start"),
    "replacements": Field("profiles", "profiles of tasks started later (after a rotation), in order"),
    "default_replacement": Field("profile", "the profile of any later task (default: not_indexed)"),
    "extra_ips": Field("profiles", "honeypots outside the stack: an ip and a profile each"),
}


def scenario_help() -> str:
    """The schema as text: every field, its type and meaning."""
    lines = ["scenario file fields (YAML):"]
    for name, spec in SCHEMA.items():
        lines.append(f"  {name}: {spec.doc}")
        for sub, subspec in (spec.fields or {}).items():
            lines.append(f"    {sub}: {subspec.doc}")
    lines.append("  a profile (an entry of honeypots/replacements/extra_ips, or default_replacement) is one of")
    lines.append(f"  {', '.join(KINDS)}, or a mapping of:")
    lines.extend(f"    {name}: {spec.doc}" for name, spec in PROFILE_FIELDS.items())
    lines.append(f"  an extra_ips entry also has ip: {EXTRA_IP.doc}")
    return "\n".join(lines)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range_text(spec: Field) -> str:
    if spec.low is not None and spec.high is not None:
        return f" from {spec.low:g} to {spec.high:g}"
    return f" of at least {spec.low:g}" if spec.low is not None else ""


def _check(value: Any, spec: Field, where: str) -> Any:
    """``value`` checked against ``spec`` (and converted: lists to tuples, numbers to float)."""
    if spec.kind == "choice":
        if value not in spec.choices:
            raise ScenarioError(f"{where}: expected one of {', '.join(spec.choices)}, got {value!r}")
        return value
    if spec.kind == "flag":
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected {_TYPE_NAMES['flag']}, got {value!r}")
        return value
    if spec.kind == "text":
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected a string, got {value!r}")
        return value
    if spec.kind in ("number", "whole"):
        whole = spec.kind == "whole"
        if not _is_number(value) or (whole and not isinstance(value, int)):
            raise ScenarioError(f"{where}: expected {_TYPE_NAMES[spec.kind]}{_range_text(spec)}, got {value!r}")
        if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
            raise ScenarioError(f"{where}: expected {_TYPE_NAMES[spec.kind]}{_range_text(spec)}, got {value!r}")
        return int(value) if whole else float(value)
    if spec.kind.startswith("list:"):
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: expected {_TYPE_NAMES[spec.kind]}, got {value!r}")
        item = Field("whole", "", low=spec.low, high=spec.high) if spec.kind == "list:port" else Field("text", "")
        return tuple(_check(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if spec.kind == "mapping":
        return _mapping(value, spec.fields, where)
    raise AssertionError(f"unknown schema kind {spec.kind}")  # pragma: no cover - a schema typo


def _mapping(value: Any, fields: dict[str, Field] | None, where: str) -> dict[str, Any]:
    """A mapping's fields checked; ``fields`` empty: any names, scalar values (template parameters)."""
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: expected a mapping, got {value!r}")
    if not fields:
        for key, item in value.items():
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise ScenarioError(f"{where}.{key}: expected a string or a number, got {item!r}")
        return {str(k): str(v) for k, v in value.items()}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; known: {', '.join(fields)}")
    return {key: _check(item, fields[key], f"{where}.{key}") for key, item in value.items() if item is not None}


def _profile(raw: Any, where: str) -> Profile:
    if isinstance(raw, str):
        raw = {"shodan": raw}
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a profile (a mapping, or one of {', '.join(KINDS)}), got {raw!r}")
    values = _mapping(raw, PROFILE_FIELDS, where)
    kind = values.get("shodan", "not_indexed")
    defaults = {"fingerprinted": (("honeypot",), 1.0, 2.0), "stale": (("honeypot",), None, -72.0)}
    tags, honeyscore, age = defaults.get(kind, ((), None, 2.0))
    age = values.get("banner_age_hours", age)
    if kind == "stale" and age >= 0:
        raise ScenarioError(f"{where}.banner_age_hours: a stale profile's banners predate the task (negative hours)")
    indexed, fingerprinted = values.get("indexed_after_hours"), values.get("fingerprinted_after_hours")
    if (indexed is not None or fingerprinted is not None) and kind != "not_indexed":
        raise ScenarioError(f"{where}: indexed_after_hours/fingerprinted_after_hours need shodan: not_indexed first")
    if indexed is not None and fingerprinted is not None and fingerprinted < indexed:
        raise ScenarioError(f"{where}.fingerprinted_after_hours: before indexed_after_hours (tagged means indexed)")
    return Profile(
        kind=kind,
        ports=values.get("ports", DEFAULT_PORTS),
        tags=values.get("tags", tags),
        honeyscore=values.get("honeyscore", honeyscore),
        org=values.get("org", Profile.org),
        banner_age_hours=age,
        name=values.get("name"),
        indexed_after_minutes=values.get("indexed_after_minutes"),
        internetdb_after_minutes=values.get("internetdb_after_minutes"),
        censys_after_minutes=values.get("censys_after_minutes"),
        censys_labels=values.get("censys_labels", ()),
        indexed_after_hours=indexed,
        fingerprinted_after_hours=fingerprinted,
        attacks_per_hour=values.get("attacks_per_hour", Profile.attacks_per_hour),
    )


def _profiles(raw: Any, where: str) -> list[Profile]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ScenarioError(f"{where}: expected a list of profiles, got {raw!r}")
    return [_profile(p, f"{where}[{i}]") for i, p in enumerate(raw)]


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario is a YAML mapping (see scenarios/default.yaml)")
    top = {k: v for k, v in data.items() if k not in ("honeypots", "replacements", "default_replacement", "extra_ips")}
    plain = {k: f for k, f in SCHEMA.items() if f.kind not in ("profile", "profiles")}
    unknown = sorted(set(top) - set(plain))
    if unknown:
        raise ScenarioError(f"{source}: unknown field(s) {', '.join(map(str, unknown))}; known: {', '.join(SCHEMA)}")
    values = _mapping(top, plain, source)
    shodan = values.get("shodan", {})
    rate = shodan.get("rate_limit_per_s")
    extras = []
    for i, raw in enumerate(data.get("extra_ips") or []):
        where = f"{source}: extra_ips[{i}]"
        if not isinstance(raw, dict) or "ip" not in raw:
            raise ScenarioError(f"{where}: needs an 'ip'")
        try:
            ip = str(ipaddress.ip_address(_check(raw["ip"], EXTRA_IP, f"{where}.ip")))
        except ValueError as error:
            if isinstance(error, ScenarioError):
                raise
            raise ScenarioError(f"{where}.ip: {raw['ip']!r} is not an IP address") from None
        profile = _profile({k: v for k, v in raw.items() if k != "ip"}, where)
        extras.append(ExtraIp(ip, profile))
    run = values.get("run", {})
    return Scenario(
        report=ReportSettings(**values.get("report", {})),
        description=values.get("description", ""),
        shodan=ShodanSettings(
            api_key=shodan.get("api_key", ShodanSettings.api_key),
            rate_limit_per_s=rate if rate else None,
            scan_credits=shodan.get("scan_credits", ShodanSettings.scan_credits),
            scan_delay_minutes=shodan.get("scan_delay_minutes", ShodanSettings.scan_delay_minutes),
            monitored_ips=shodan.get("monitored_ips", ShodanSettings.monitored_ips),
        ),
        censys=CensysSettings(token=values.get("censys", {}).get("token")),
        honeypots=_profiles(data.get("honeypots"), f"{source}: honeypots"),
        replacements=_profiles(data.get("replacements"), f"{source}: replacements"),
        default_replacement=_profile(data.get("default_replacement", "not_indexed"), f"{source}: default_replacement"),
        extra_ips=extras,
        rotate_on=run.get("rotate_on"),
        experiment=run.get("experiment", False),
        tasks=run.get("tasks"),
        time_scale=run.get("time_scale"),
        parameters=run.get("parameters", {}),
    )


def load_scenario(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ScenarioError(f"scenario file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot be read: {error}") from None
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
