"""From described ECS tasks and their network interfaces to the honeypots' public IPs (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ics_honeynet.contracts import (
    HoneypotListing,
    ListedIp,
    SkippedTask,
    SweepListing,
    SweepTarget,
    TargetsDocument,
    format_utc,
    parse_utc,
)

# DescribeTasks takes at most 100 tasks per call; DescribeNetworkInterfaces is paged by us too.
DESCRIBE_TASKS_BATCH = 100
DESCRIBE_ENIS_BATCH = 200


@dataclass(frozen=True)
class HoneypotIp:
    ip: str
    task_arn: str | None  # None: an extra IP outside this stack (never rotated)
    started_at: str | None
    eni: str | None
    template: str | None = None  # the Conpot template its task serves
    service: str | None = None  # the ECS service that runs it (a rotation pairs within it)

    def to_json(self) -> ListedIp:
        listed = ListedIp(ip=self.ip, taskArn=self.task_arn, startedAt=self.started_at, eni=self.eni)
        if self.template:
            listed["template"] = self.template
        if self.service:
            listed["service"] = self.service
        return listed

    def sweep_target(self) -> SweepTarget:
        return SweepTarget(ip=self.ip, taskArn=self.task_arn, startedAt=self.started_at)


@dataclass(frozen=True)
class Skipped:
    task_arn: str
    reason: str

    def to_json(self) -> SkippedTask:
        return SkippedTask(taskArn=self.task_arn, reason=self.reason)


@dataclass
class Listing:
    cluster: str
    service: str
    ips: list[HoneypotIp] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def to_json(self) -> HoneypotListing:
        return {
            "cluster": self.cluster,
            "service": self.service,
            "ips": [i.to_json() for i in self.ips],
            "skipped": [s.to_json() for s in self.skipped],
        }

    def targets_document(self) -> TargetsDocument:
        """What a sweep stores in S3: every target and skipped task (too many for the state)."""
        return {"targets": [i.to_json() for i in self.ips], "skipped": [s.to_json() for s in self.skipped]}

    def sweep_json(self, targets_key: str) -> SweepListing:
        """What the state machine carries: one Map item per IP (``SweepTarget``, the iteration's
        input), the count, a few skipped tasks (the rotation must not take them for
        replacements; all of them are in the targets document)."""
        return {
            "cluster": self.cluster,
            "service": self.service,
            "count": len(self.ips),
            "targetsKey": targets_key,
            "targets": [i.sweep_target() for i in self.ips],
            "skippedCount": len(self.skipped),
            "skipped": [s.to_json() for s in self.skipped[:MAX_SKIPPED_IN_STATE]],
        }


MAX_SKIPPED_IN_STATE = 50


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def eni_of(task: Mapping[str, Any]) -> str | None:
    """The task's awsvpc network interface id, if it is attached yet."""
    for attachment in task.get("attachments") or ():
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        for detail in attachment.get("details") or ():
            if detail.get("name") == "networkInterfaceId" and detail.get("value"):
                return str(detail["value"])
    return None


def iso_utc(value: datetime | str | None) -> str | None:
    """ECS returns timezone-aware datetimes (boto3), or ISO text (a JSON event). Keep UTC ISO."""
    if value is None:
        return None
    return format_utc(parse_utc(value) if isinstance(value, str) else value)


def public_ip_of(interface: Mapping[str, Any]) -> str | None:
    ip = (interface.get("Association") or {}).get("PublicIp")
    if not ip:
        return None
    ipaddress.ip_address(ip)  # a malformed answer is an error, not a honeypot
    return str(ip)


def assemble(
    cluster: str,
    service: str,
    tasks: Iterable[Mapping[str, Any]],
    interfaces: Mapping[str, Mapping[str, Any] | None],
    template: str | None = None,
) -> Listing:
    """Pair each task with its ENI's public IP; anything not ready is skipped with a reason.

    ``interfaces`` maps ENI id to the described interface, or None when EC2 no longer knows it.
    ``template``: the Conpot template the service's tasks serve.
    """
    listing = Listing(cluster=cluster, service=service)
    for task in tasks:
        arn = str(task.get("taskArn"))
        status = task.get("lastStatus")
        if status != "RUNNING":
            listing.skipped.append(Skipped(arn, f"task is {status or 'in an unknown state'}, not RUNNING"))
            continue
        eni = eni_of(task)
        if eni is None:
            listing.skipped.append(Skipped(arn, "no network interface attached yet"))
            continue
        if eni not in interfaces or interfaces[eni] is None:
            listing.skipped.append(Skipped(arn, f"network interface {eni} not found"))
            continue
        ip = public_ip_of(interfaces[eni])  # type: ignore[arg-type]
        if ip is None:
            listing.skipped.append(Skipped(arn, f"network interface {eni} has no public IP yet"))
            continue
        started = iso_utc(task.get("startedAt")) or iso_utc(task.get("createdAt"))
        if started is None:
            listing.skipped.append(Skipped(arn, "task has no startedAt yet"))
            continue
        listing.ips.append(HoneypotIp(ip, arn, started, eni, template, service))
    listing.ips.sort(key=lambda item: (item.started_at or "", item.ip))
    # One IP is checked once: a second task reporting the same IP (a stale ENI association)
    # is kept in `skipped`, so nothing is dropped silently.
    seen: dict[str, HoneypotIp] = {}
    for item in listing.ips:
        if item.ip in seen:
            # Only tasks are listed here (extra IPs come later), so both have a task ARN.
            also = f"public IP {item.ip} also on task {seen[item.ip].task_arn}"
            listing.skipped.append(Skipped(str(item.task_arn), also))
        else:
            seen[item.ip] = item
    listing.ips = list(seen.values())
    return listing


def parse_services(text: str) -> dict[str, str | None]:
    """``template=service,...`` (the template's HONEYPOT_SERVICES) -> service -> template."""
    services: dict[str, str | None] = {}
    for item in text.split(","):
        template, sep, service = item.strip().partition("=")
        if not sep or not template or not service:
            raise ValueError(f"HONEYPOT_SERVICES: {item!r} is not template=service")
        services[service] = template
    return services


def merge_listings(cluster: str, listings: Sequence[Listing]) -> Listing:
    """One listing of several services' (their names comma separated), IPs in start order; an IP
    two services report (a stale ENI association) is checked once, the other task skipped."""
    merged = Listing(cluster=cluster, service=",".join(listing.service for listing in listings))
    seen: dict[str, HoneypotIp] = {}
    for item in sorted((i for listing in listings for i in listing.ips), key=lambda i: (i.started_at or "", i.ip)):
        if item.ip in seen:
            merged.skipped.append(
                Skipped(str(item.task_arn), f"public IP {item.ip} also on task {seen[item.ip].task_arn}")
            )
        else:
            seen[item.ip] = item
            merged.ips.append(item)
    merged.skipped[:0] = [s for listing in listings for s in listing.skipped]
    return merged


def parse_extra_ips(text: str) -> tuple[list[str], list[Skipped]]:
    """Honeypot IPs outside this stack (hybrid deployments), comma or space separated.

    An entry that is not an IP is kept as skipped with its reason, never dropped."""
    ips: list[str] = []
    invalid: list[Skipped] = []
    for raw in text.replace(",", " ").split():
        try:
            ip = str(ipaddress.ip_address(raw))
        except ValueError:
            invalid.append(Skipped(f"extra:{raw[:64]}", f"not an IP address: {raw[:64]!r}"))
            continue
        if ip not in ips:
            ips.append(ip)
    return ips, invalid


def add_extra_ips(listing: Listing, extra: list[str], invalid: list[Skipped]) -> Listing:
    """Extra IPs are checked like the stack's own, after them, unless a task already has the IP."""
    own = {item.ip for item in listing.ips}
    listing.ips.extend(HoneypotIp(ip=ip, task_arn=None, started_at=None, eni=None) for ip in extra if ip not in own)
    listing.skipped.extend(invalid)
    return listing


def started_after(listing: Listing, since: str) -> Listing:
    """Only the tasks that started at or after ``since`` (ISO 8601; a zone-less time is UTC)."""
    try:
        cutoff = parse_utc(since)
    except ValueError:
        raise ValueError(f"startedAfter is not an ISO 8601 time: {since[:64]!r}") from None

    def recent(started: str | None) -> bool:
        return started is not None and parse_utc(started) >= cutoff

    return Listing(listing.cluster, listing.service, [i for i in listing.ips if recent(i.started_at)], listing.skipped)


def only_ip(listing: Listing, ip: str) -> Listing:
    """A targeted sweep's listing: just the honeypot holding ``ip`` (a task's or an extra IP),
    or nothing when no honeypot holds it any more (it was rotated away). Other tasks' skips are
    not this sweep's business."""
    try:
        wanted = str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise ValueError(f"targetIp is not an IP address: {ip[:64]!r}") from None
    return Listing(listing.cluster, listing.service, [i for i in listing.ips if i.ip == wanted], [])
