"""Each tenure's milestones, and who among its visitors is a search engine's crawler.

A crawler is recognised by the reverse DNS (PTR) name of its source address. The names the
operators use, as seen in public blocklists and honeypot logs: Shodan's crawlers are
``census1``..``census12.shodan.io`` and ``<word>.census.shodan.io`` (``atlantic``, ``pacific``,
``ninja``, ``pirate``, ``turtle``, ``sky``, ``dojo``, ``battery``, ``red``, ``blue2``,
``einstein``, ``flower``...), plus ``hello.data.shodan.io`` and ``atlantic.dns.shodan.io``: all
under ``shodan.io``. Censys scans from ``scanner-NN.ch1.censys-scanner.com`` (and
``<reversed-ip>.censys-scanner.com``), BinaryEdge from ``*.binaryedge.ninja``. A PTR name is set
by whoever owns the address, so it is evidence, not proof; no forward confirmation is attempted
because some of these hosts publish no forward record.

Lookups are slow and the laptop may be offline, so the resolver is injected and wrapped: each
address is asked once (cached), each lookup has a timeout, and after a run of timeouts the
resolver is taken as unreachable and no more lookups are made (the report says so).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ics_honeynet.research.model import Milestone, Tenure

Resolver = Callable[[str], str | None]  # an IP to its PTR name, or None

# PTR domain -> operator. Matched on a label boundary: "x.shodan.io" is Shodan, "xshodan.io" is not.
SCANNER_DOMAINS: Mapping[str, str] = {
    "shodan.io": "Shodan",
    "censys-scanner.com": "Censys",
    "binaryedge.ninja": "BinaryEdge",
}


def scanner_operator(hostname: str | None) -> str | None:
    """The search engine whose crawler ``hostname`` names, or None."""
    if not hostname:
        return None
    name = hostname.rstrip(".").lower()
    for domain, operator in SCANNER_DOMAINS.items():
        if name == domain or name.endswith("." + domain):
            return operator
    return None


def system_resolver(ip: str) -> str | None:
    """The machine's resolver (what the laptop uses): the PTR name, or None when there is none."""
    try:
        return socket.gethostbyaddr(ip)[0]
    except OSError:  # herror (no PTR), gaierror, timeouts of the OS resolver
        return None


@dataclass
class LookupStats:
    lookups: int = 0
    names: int = 0
    timeouts: int = 0
    gave_up: bool = False


class CachedResolver:
    """``resolver`` asked at most once per address, each time within ``timeout`` seconds (in a
    daemon thread, so a hung lookup never holds the process), and not at all after
    ``give_up_after`` timeouts in a row."""

    def __init__(self, resolver: Resolver, *, timeout: float = 2.0, give_up_after: int = 5) -> None:
        self._resolver, self._timeout, self._give_up_after = resolver, timeout, give_up_after
        self._cache: dict[str, str | None] = {}
        self._timeouts_in_a_row = 0
        self.stats = LookupStats()

    def __call__(self, ip: str) -> str | None:
        if ip in self._cache:
            return self._cache[ip]
        if self.stats.gave_up:
            return None
        answer: list[str | None] = []

        def ask() -> None:
            try:
                answer.append(self._resolver(ip))
            except Exception:  # a resolver's failure is "no name", never the report's
                answer.append(None)

        worker = threading.Thread(target=ask, name=f"ptr-{ip}", daemon=True)
        worker.start()
        worker.join(self._timeout)
        self.stats.lookups += 1
        if not answer:
            self.stats.timeouts += 1
            self._timeouts_in_a_row += 1
            self.stats.gave_up = self._timeouts_in_a_row >= self._give_up_after
            self._cache[ip] = None
            return None
        self._timeouts_in_a_row = 0
        self._cache[ip] = answer[0]
        self.stats.names += answer[0] is not None
        return answer[0]


@dataclass(frozen=True)
class Mark:
    """A milestone reached at ``at``; ``detail`` says by whom for a contact (source, PTR name)."""

    milestone: Milestone
    at: datetime
    detail: str | None = None


def first_scanner_contact(first_seen: Mapping[str, datetime], resolver: Resolver) -> Mark | None:
    """The earliest source in ``first_seen`` (source IP -> its first event's time) whose PTR
    name is a crawler's. Sources are asked in time order and the search stops at the first
    crawler, so a tenure costs as few lookups as its first crawler allows."""
    for ip, moment in sorted(first_seen.items(), key=lambda item: (item[1], item[0])):
        name = resolver(ip)
        operator = scanner_operator(name)
        if operator is not None:
            return Mark(Milestone.FIRST_SCANNER_CONTACT, moment, f"{operator} {name} ({ip})")
    return None


def timeline(tenure: Tenure, first_seen: Mapping[str, datetime], resolver: Resolver, until: datetime) -> list[Mark]:
    """A tenure's milestones that happened before ``until``, in time order (a milestone not yet
    reached is absent). ``first_seen``: each source's first attributed event's time."""
    marks: list[Mark] = [Mark(Milestone.STARTED, tenure.started)]
    if tenure.assigned is not None and tenure.assigned < until:
        marks.append(Mark(Milestone.ASSIGNED, tenure.assigned, str(tenure.arm)))
    if first_seen:
        ip, moment = min(first_seen.items(), key=lambda item: (item[1], item[0]))
        marks.append(Mark(Milestone.FIRST_CONTACT, moment, ip))
        scanner = first_scanner_contact(first_seen, resolver)
        if scanner is not None:
            marks.append(scanner)
    for milestone in (Milestone.FIRST_INDEXED, Milestone.FIRST_FINGERPRINTED, Milestone.ROTATED):
        reached = tenure.milestone(milestone)
        if reached is not None and reached < until:
            marks.append(Mark(milestone, reached))
    order = list(Milestone)
    return sorted(marks, key=lambda mark: (mark.at, order.index(mark.milestone)))
