"""What the research report reads: Conpot's event records and the honeypots' tenures.

A Conpot event record is one line of Conpot's JSON log (conpot/core/loggers/json_log.py), kept
verbatim in S3. What Conpot's source says about its fields, and why it matters here:

- ``timestamp`` is the *session's* start (``AttackSession`` sets it once, from
  ``datetime.utcnow()``): naive UTC in ``isoformat()``, so every record of a session carries the
  same time. A session is one source's use of one protocol, ended after a few idle seconds; the
  report counts sessions as "attacks" (``id`` is the session's uuid4).
- ``event_type`` is ``NEW_CONNECTION``, ``CONNECTION_LOST``, ``CONNECTION_CLOSED``/``_QUIT``/
  ``_TERMINATED``/``_TIMEOUT``/``_FAILED``, or null on a request/response record.
- ``data_type`` is the protocol name Conpot gave the session: ``s7comm``, ``modbus``, ``http``,
  ``snmp``, ``bacnet``, ``enip``, ``ftp``, ``tftp``, ``IEC104``, ``guardian_ast``,
  ``kamstrup_protocol``, ``kamstrup_management_protocol``, ``ipmi``, or a proxy's name.
- ``public_ip`` is what Conpot looked up at start (null when the lookup is off or failed);
  ``dst_ip`` is the socket's local address (the task's private IP on Fargate).
- ``request``/``response`` are strings when present (Conpot ``str()``s bytes); other JSON values
  are kept as their JSON text.

A bad line is a ``BadEventLine`` with the reason: the report counts and shows it, never drops it
silently and never stops on it.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from ics_honeynet.contracts import Arm, parse_utc


class BadEventLine(ValueError):
    """A line that is not a Conpot event record; the message says what is wrong with it."""


class Milestone(StrEnum):
    """A point in a tenure's exposure, in the order they usually happen."""

    STARTED = "started"  # the task began holding the IP
    ASSIGNED = "assigned"  # experiment mode: the tenure's arm was drawn (the first sweep that saw it)
    FIRST_CONTACT = "first_contact"  # first event recorded
    FIRST_SCANNER_CONTACT = "first_scanner_contact"  # first event from a search engine's crawler
    FIRST_INDEXED = "first_indexed"  # first sweep that found the IP on Shodan
    FIRST_FINGERPRINTED = "first_fingerprinted"  # first sweep that found it tagged honeypot
    ROTATED = "rotated"  # the task let go of the IP

    @property
    def phrase(self) -> str:
        """The milestone in a sentence: ``first indexed``."""
        return self.value.replace("_", " ")


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC): {moment!r}")
    return moment.astimezone(UTC)


def _moment(value: datetime | str | None, name: str) -> datetime | None:
    if value is None:
        return None
    return _aware(value, name) if isinstance(value, datetime) else parse_utc(value)


@dataclass(frozen=True)
class Tenure:
    """One ECS task holding one public IP, from ``started`` until ``rotated`` (None: still
    holding it, i.e. until the report's end). ``first_indexed``/``first_fingerprinted`` are the
    sweeps that first saw the IP on Shodan (None: not yet). ``private_ip`` (optional) attributes
    events whose ``public_ip`` Conpot could not look up. ``arm`` and ``assigned`` (experiment mode,
    optional, together): the tenure's arm and when it was drawn. Times are aware UTC; ``Tenure.of``
    accepts the ISO strings the exposure history stores."""

    honeypot_ip: str
    task_arn: str
    started: datetime
    rotated: datetime | None = None
    first_indexed: datetime | None = None
    first_fingerprinted: datetime | None = None
    private_ip: str | None = None
    arm: Arm | None = None
    assigned: datetime | None = None
    # When the tenure stopped being observed without a rotation of ours (a crash, a deploy): the
    # last sweep that saw the task running. None while it runs.
    ended: datetime | None = None
    # The persona its task served (persona.PersonaLabel: "p-..." or "stock"; None: not recorded).
    persona: str | None = None
    persona_model: str | None = None

    def __post_init__(self) -> None:
        moments = ("rotated", "first_indexed", "first_fingerprinted", "assigned", "ended")
        for name in ("started", *moments):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _aware(value, f"{self.label}: {name}"))
        if (self.arm is None) != (self.assigned is None):
            raise ValueError(f"{self.label}: an arm needs its assignment time, and an assignment its arm")
        if self.arm is not None:
            object.__setattr__(self, "arm", Arm(self.arm))
        for name in moments:
            value = getattr(self, name)
            if value is not None and value < self.started:
                raise ValueError(
                    f"{self.label}: {name} {value.isoformat()} is before started {self.started.isoformat()}"
                )
        if self.first_indexed and self.first_fingerprinted and self.first_fingerprinted < self.first_indexed:
            # Fingerprinted implies indexed: the sweep records both at once when it goes straight there.
            raise ValueError(f"{self.label}: first_fingerprinted is before first_indexed")

    @classmethod
    def of(
        cls,
        honeypot_ip: str,
        task_arn: str,
        started: datetime | str,
        rotated: datetime | str | None = None,
        first_indexed: datetime | str | None = None,
        first_fingerprinted: datetime | str | None = None,
        private_ip: str | None = None,
        arm: Arm | str | None = None,
        assigned: datetime | str | None = None,
        ended: datetime | str | None = None,
        persona: str | None = None,
        persona_model: str | None = None,
    ) -> Tenure:
        """A tenure from datetimes or the stored ISO strings (contracts.parse_utc)."""
        return cls(
            honeypot_ip=honeypot_ip,
            task_arn=task_arn,
            started=_aware(started, "started") if isinstance(started, datetime) else parse_utc(started),
            rotated=_moment(rotated, "rotated"),
            first_indexed=_moment(first_indexed, "first_indexed"),
            first_fingerprinted=_moment(first_fingerprinted, "first_fingerprinted"),
            private_ip=private_ip,
            arm=None if arm is None else Arm(arm),
            assigned=_moment(assigned, "assigned"),
            ended=_moment(ended, "ended"),
            persona=persona,
            persona_model=persona_model,
        )

    @property
    def label(self) -> str:
        """How the report names the honeypot: its IP and the task's short id (an IP can be held
        by several tasks over time)."""
        return f"{self.honeypot_ip} ({self.task_arn.rsplit('/', 1)[-1][:8]})"

    def end(self, until: datetime) -> datetime:
        """When the tenure stops counting: rotated (or ended), or the report's end for a running task."""
        stop = self.rotated or self.ended
        return min(stop, until) if stop is not None else until

    def milestone(self, milestone: Milestone) -> datetime | None:
        """The sweep-recorded milestones (the others come from the events: timeline.py)."""
        return {
            Milestone.STARTED: self.started,
            Milestone.ASSIGNED: self.assigned,
            Milestone.FIRST_INDEXED: self.first_indexed,
            Milestone.FIRST_FINGERPRINTED: self.first_fingerprinted,
            Milestone.ROTATED: self.rotated,
        }.get(milestone)


def _optional(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is None or isinstance(value, str):
        return value
    raise BadEventLine(f"{name!r} is not a string: {value!r:.60}")


def _required(record: dict[str, Any], name: str) -> str:
    value = _optional(record, name)
    if not value:
        raise BadEventLine(f"missing {name!r}")
    return value


def _ip(value: str | None, name: str) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadEventLine(f"{name!r} is not an IP address: {value!r:.60}") from None


def _port(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise BadEventLine(f"{name!r} is not a port number: {value!r:.60}")
    return value


def _payload(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class ConpotEvent:
    """One Conpot JSON log record, checked and typed (see the module's notes on each field)."""

    timestamp: datetime
    session_id: str
    src_ip: str
    data_type: str
    src_port: int | None = None
    dst_ip: str | None = None
    dst_port: int | None = None
    public_ip: str | None = None
    event_type: str | None = None
    sensor_id: str | None = None
    request: str | None = field(default=None, repr=False)
    response: str | None = field(default=None, repr=False)

    @classmethod
    def from_json_line(cls, line: str | bytes) -> ConpotEvent:
        """Parse one line; BadEventLine (saying why) if it is not a Conpot record."""
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise BadEventLine(f"not JSON: {error}") from None
        if not isinstance(record, dict):
            raise BadEventLine(f"not a JSON object but {type(record).__name__}")
        stamp = _required(record, "timestamp")
        try:
            timestamp = parse_utc(stamp)
        except ValueError:
            raise BadEventLine(f"'timestamp' is not an ISO 8601 time: {stamp!r:.60}") from None
        session_id, data_type = _required(record, "id"), _required(record, "data_type")
        src_ip = _ip(_required(record, "src_ip"), "src_ip")
        if src_ip is None:  # _required refused an empty one already; this tells mypy
            raise BadEventLine("missing 'src_ip'")
        return cls(
            timestamp=timestamp,
            session_id=session_id,
            src_ip=src_ip,
            data_type=data_type,
            src_port=_port(record, "src_port"),
            dst_ip=_ip(_optional(record, "dst_ip"), "dst_ip"),
            dst_port=_port(record, "dst_port"),
            public_ip=_ip(_optional(record, "public_ip"), "public_ip"),
            event_type=_optional(record, "event_type"),
            sensor_id=_optional(record, "sensorid"),
            request=_payload(record.get("request")),
            response=_payload(record.get("response")),
        )

    def to_json_line(self) -> str:
        """The record as Conpot writes it (naive UTC ``isoformat()`` timestamp), for the
        synthetic scenario and tests."""
        return json.dumps(
            {
                "timestamp": self.timestamp.astimezone(UTC).replace(tzinfo=None).isoformat(),
                "sensorid": self.sensor_id,
                "id": self.session_id,
                "src_ip": self.src_ip,
                "src_port": self.src_port,
                "dst_ip": self.dst_ip,
                "dst_port": self.dst_port,
                "public_ip": self.public_ip,
                "data_type": self.data_type,
                "request": self.request,
                "response": self.response,
                "event_type": self.event_type,
            }
        )


@dataclass(frozen=True)
class Progress:
    """How far a long step has come, for a caller's progress line: ``done`` of ``total`` (None:
    not known in advance) ``stage`` units (files, lines, lookups)."""

    stage: str
    done: int
    total: int | None = None

    def __str__(self) -> str:
        return f"{self.stage}: {self.done}" + (f"/{self.total}" if self.total is not None else "")
