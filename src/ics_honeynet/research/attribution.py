"""Which honeypot tenure an event belongs to.

An event belongs to the tenure whose IP is the event's ``public_ip`` and whose
[started, rotated) holds the event's time. AWS recycles public IPs, so the time decides between
tenures of one IP; an IP is held by one task at a time, so overlapping tenures of one IP are bad
input and refused. When Conpot could not look its public IP up (``public_ip`` null, or one no
tenure knows), a tenure that carries a ``private_ip`` equal to the event's ``dst_ip`` is tried.
Whatever fits no tenure is counted by reason (``Unattributed``), never dropped silently.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum

from ics_honeynet.research.model import ConpotEvent, Tenure


class Unattributed(StrEnum):
    """Why an event counts for no tenure."""

    OUTSIDE_WINDOW = "OUTSIDE_WINDOW"  # before the report's since, or at/after its until
    UNKNOWN_IP = "UNKNOWN_IP"  # neither its public_ip nor its dst_ip is any tenure's
    OUTSIDE_TENURE = "OUTSIDE_TENURE"  # the IP is a tenure's, but not at the event's time


class _ByIp:
    """Tenures of each IP, sorted by start, for a bisect by time."""

    def __init__(self, pairs: Iterable[tuple[str, Tenure]], until: datetime) -> None:
        grouped: dict[str, list[Tenure]] = {}
        for ip, tenure in pairs:
            grouped.setdefault(ip, []).append(tenure)
        self._until = until
        self._tenures = {ip: sorted(group, key=lambda t: t.started) for ip, group in grouped.items()}
        self._starts = {ip: [t.started for t in group] for ip, group in self._tenures.items()}
        for ip, group in self._tenures.items():
            for earlier, later in itertools.pairwise(group):
                if later.started < earlier.end(until):
                    raise ValueError(
                        f"tenures overlap on {ip}: {earlier.label} until {earlier.end(until).isoformat()} and "
                        f"{later.label} from {later.started.isoformat()} (an IP is held by one task at a time)"
                    )

    def known(self, ip: str | None) -> bool:
        return ip is not None and ip in self._tenures

    def find(self, ip: str, moment: datetime) -> Tenure | None:
        index = bisect.bisect_right(self._starts[ip], moment) - 1
        if index < 0:
            return None
        tenure = self._tenures[ip][index]
        return tenure if moment < tenure.end(self._until) else None


class Attributor:
    """Attributes events to ``tenures`` within the report's [since, until)."""

    def __init__(self, tenures: Sequence[Tenure], *, since: datetime, until: datetime) -> None:
        self.since, self.until = since, until
        self._public = _ByIp(((t.honeypot_ip, t) for t in tenures), until)
        self._private = _ByIp(((t.private_ip, t) for t in tenures if t.private_ip), until)

    def attribute(self, event: ConpotEvent) -> Tenure | Unattributed:
        moment = event.timestamp
        if not self.since <= moment < self.until:
            return Unattributed.OUTSIDE_WINDOW
        known = False
        for index, ip in ((self._public, event.public_ip), (self._private, event.dst_ip)):
            if ip is not None and index.known(ip):
                known = True
                tenure = index.find(ip, moment)
                if tenure is not None:
                    return tenure
        return Unattributed.OUTSIDE_TENURE if known else Unattributed.UNKNOWN_IP
