"""From what a honeypot serves to findings and a score: one assessment for the live and static audits.

Both audits reduce a honeypot to ``Observed``: the values each protocol serves (``Observation``),
the services open, the Conpot behaviours a probe saw (``Behaviour``: things no template can
change, e.g. FTP's greeting code), and per-probe errors. ``assess`` turns that into findings:
- DEFAULT: a value from ``conpot_defaults.KNOWN_DEFAULTS``;
- INCONSISTENT: values that cannot belong to one real device (two vendors; pages older than the
  firmware; dates in the future);
- BEHAVIOUR: Conpot's code showing through;
- COMBINATION: too many unrelated industrial services on one host.
The score adds the findings' weights, capped at 100 (0 clean ... 100 certainly Conpot).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

from ics_honeynet.conpot_defaults import defaults_in
from ics_honeynet.persona import CATALOGUE, Vendor


class Kind(StrEnum):
    DEFAULT = "default"
    INCONSISTENT = "inconsistent"
    BEHAVIOUR = "behaviour"
    COMBINATION = "combination"


@dataclass(frozen=True)
class Observation:
    protocol: str  # "s7comm", "snmp", ...
    field: str  # "szl_1c.serial", "sysDescr", "header.last-modified", ...
    value: str


@dataclass(frozen=True)
class Behaviour:
    protocol: str
    name: str
    evidence: str
    weight: int


@dataclass(frozen=True)
class ProbeError:
    protocol: str
    message: str


@dataclass
class Observed:
    observations: list[Observation] = field(default_factory=list)
    open_services: set[str] = field(default_factory=set)
    behaviours: list[Behaviour] = field(default_factory=list)
    errors: list[ProbeError] = field(default_factory=list)

    def add(self, protocol: str, name: str, value: object) -> None:
        self.observations.append(Observation(protocol, name, str(value)))

    def values(self, protocol: str, name: str) -> list[str]:
        return [o.value for o in self.observations if o.protocol == protocol and o.field == name]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    protocol: str
    message: str
    evidence: str
    weight: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "protocol": self.protocol,
            "message": self.message,
            "evidence": self.evidence,
            "weight": self.weight,
        }


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]
    errors: tuple[ProbeError, ...]
    open_services: tuple[str, ...]

    @property
    def score(self) -> int:
        return min(100, sum(f.weight for f in self.findings))

    @property
    def exit_status(self) -> int:
        if self.findings:
            return 1
        return 2 if self.errors and not self.open_services else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "open_services": list(self.open_services),
            "findings": [f.to_json() for f in self.findings],
            "errors": [{"protocol": e.protocol, "message": e.message} for e in self.errors],
        }


# Industrial protocols (a PLC or controller serves one or two of them, rarely more).
INDUSTRIAL = frozenset({"s7comm", "modbus", "enip", "bacnet", "ipmi", "iec104", "kamstrup", "guardian_ast"})
# What honeypot detectors count (reference: three or more of 102, 502, 47808, 80, 161, 623).
DETECTOR_PORTS = frozenset({"s7comm", "modbus", "bacnet", "http", "snmp", "ipmi"})
EARLIEST_PLAUSIBLE = date(2000, 1, 1)  # no networked PLC firmware in our catalogue is older

_VENDORS: tuple[Vendor, ...] = tuple({m.vendor.name: m.vendor for m in CATALOGUE}.values())
_WORDS = {
    "Siemens": ("siemens", "simatic", "6es7"),
    "Schneider Electric": ("schneider", "modicon", "telemecanique", "bmx p", "bme p"),
    "Rockwell Automation/Allen-Bradley": ("rockwell", "allen-bradley", "logix", "1756-", "1769-"),
}
# Which fields claim a vendor, and how to read the claim.
_TEXT_FIELDS = {
    ("snmp", "sysDescr"),
    ("modbus", "vendor_name"),
    ("modbus", "product_code"),
    ("enip", "product_name"),
    ("bacnet", "vendor_name"),
    ("http", "header.server"),
    ("http", "title"),
    ("s7comm", "szl_1c.module_type_name"),
}


def _vendor_of(protocol: str, name: str, value: str) -> str | None:
    if protocol == "snmp" and name == "sysObjectID":
        for vendor in _VENDORS:
            if (
                value.startswith(f"1.3.6.1.4.1.{vendor.snmp_enterprise}.")
                or value == f"1.3.6.1.4.1.{vendor.snmp_enterprise}"
            ):
                return vendor.name
        return None
    if protocol == "enip" and name == "vendor_id":
        return next((v.name for v in _VENDORS if str(v.cip_vendor_id) == value), None)
    if protocol == "bacnet" and name == "vendor_id":
        return next((v.name for v in _VENDORS if str(v.bacnet_vendor_id) == value), None)
    if (protocol, name) in _TEXT_FIELDS:
        text = value.casefold()
        for name, words in _WORDS.items():
            if any(w in text for w in words):
                return name
    return None


def _vendor_claims(observed: Observed) -> dict[str, list[str]]:
    claims: dict[str, list[str]] = {}
    if "s7comm" in observed.open_services:  # S7comm is Siemens' own protocol
        claims.setdefault("Siemens", []).append("s7comm: S7 protocol served")
    for o in observed.observations:
        vendor = _vendor_of(o.protocol, o.field, o.value)
        if vendor:
            claims.setdefault(vendor, []).append(f"{o.protocol} {o.field}={o.value!r}")
    return claims


def _date_findings(observed: Observed, now: datetime) -> Iterable[Finding]:
    modified = []
    for value in observed.values("http", "header.last-modified"):
        try:
            modified.append((value, parsedate_to_datetime(value).date()))
        except (TypeError, ValueError):
            yield Finding(Kind.INCONSISTENT, "http", "Last-Modified is not an HTTP date", value, 10)
    models = [
        m
        for m in CATALOGUE
        if any(m.order_number in o.value or m.module_type == o.value.strip() for o in observed.observations)
    ]
    for value, day in modified:
        if day < EARLIEST_PLAUSIBLE:
            yield Finding(Kind.INCONSISTENT, "http", "pages older than any networked controller firmware", value, 25)
        elif day > now.date() + timedelta(days=1):
            yield Finding(Kind.INCONSISTENT, "http", "Last-Modified is in the future", value, 20)
        elif models and all(day < min(f.released for f in m.firmware) for m in models):
            names = ", ".join(sorted({m.module_type for m in models}))
            yield Finding(Kind.INCONSISTENT, "http", f"pages older than the first firmware of {names}", value, 20)


def assess(observed: Observed, now: datetime | None = None) -> Report:
    now = now or datetime.now(UTC)
    findings: list[Finding] = []
    for o in observed.observations:
        for known in defaults_in(o.value):
            if not known.genuine:
                findings.append(
                    Finding(
                        Kind.DEFAULT,
                        o.protocol,
                        f"Conpot default {known.value!r} ({known.source})",
                        f"{o.field}={o.value!r}",
                        known.weight,
                    )
                )
    claims = _vendor_claims(observed)
    if len(claims) > 1:
        evidence = "; ".join(f"{vendor}: {', '.join(seen[:3])}" for vendor, seen in sorted(claims.items()))
        findings.append(Finding(Kind.INCONSISTENT, "*", f"one host claims {len(claims)} vendors", evidence, 30))
    findings.extend(_date_findings(observed, now))
    findings.extend(Finding(Kind.BEHAVIOUR, b.protocol, b.name, b.evidence, b.weight) for b in observed.behaviours)
    industrial = sorted(observed.open_services & INDUSTRIAL)
    if len(industrial) >= 3:
        findings.append(
            Finding(
                Kind.COMBINATION,
                "*",
                f"{len(industrial)} unrelated industrial services on one host (no real controller serves them all)",
                ", ".join(industrial),
                25,
            )
        )
    return Report(tuple(findings), tuple(observed.errors), tuple(sorted(observed.open_services)))
