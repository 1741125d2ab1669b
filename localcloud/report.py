"""What a sweep did, as the Step Functions console and the researcher's inbox would show it.

``timeline`` reads an execution history (the same events ``GetExecutionHistory`` returns on
AWS) into one row per state, with Map iterations summarised per inner state and listed one by
one: each iteration's IP, its verdict and the states it went through (the branches taken).
``SweepReport`` adds what happened outside the state machine: verdicts, S3 objects, emails,
rotations.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_FAILED_EVENTS = ("TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut")


@dataclass
class _Entry:
    """One entry into a state (a StateEntered event) and what happened until it exited."""

    name: str
    type: str
    started: datetime
    exited: datetime | None = None
    schedules: int = 0
    failures: int = 0
    iterations: int = 0

    @property
    def retries(self) -> int:
        return max(0, self.schedules - 1)

    @property
    def outcome(self) -> str:
        if self.type == "Fail":
            return "FAILED"
        if self.exited is None:
            return "FAILED"
        # Every attempt failed but the state exited: a Catch took over.
        return "CAUGHT" if self.failures and self.failures >= self.schedules else "SUCCEEDED"


@dataclass
class InnerSummary:
    type: str
    entered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    retries: int = 0


@dataclass
class IterationRow:
    """One Map iteration: its item's IP, the verdict it ended with, the states it went through."""

    index: int
    ip: str | None = None
    verdict: str | None = None
    path: list[str] = field(default_factory=list)
    retries: int = 0
    failed: bool = False


@dataclass
class StateRow:
    name: str
    type: str
    status: str
    duration: float | None
    retries: int = 0
    iterations: int = 0
    inner: dict[str, InnerSummary] = field(default_factory=dict)
    each: list[IterationRow] = field(default_factory=list)


def state_types(definition: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Every state's type, and for states inside a Map, the Map that holds them."""
    types: dict[str, str] = {}
    parent: dict[str, str] = {}

    def walk(states: dict[str, Any], owner: str | None) -> None:
        for name, state in states.items():
            types[name] = state["Type"]
            if owner:
                parent[name] = owner
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                walk(processor["States"], name)

    walk(definition["States"], None)
    return types, parent


def timeline(history: list[dict[str, Any]], definition: dict[str, Any], status: str) -> list[StateRow]:
    """One row per top-level state entry; states inside a Map are summarised under it."""
    types, parent = state_types(definition)
    by_id = {e["id"]: e for e in history}
    entries: dict[int, _Entry] = {}

    def owning_entry(event: dict[str, Any]) -> _Entry | None:
        # Events chain to the one before them in the same flow (previousEventId), so walking
        # back finds the state they belong to even when Map iterations interleave.
        current: dict[str, Any] | None = event
        while current is not None:
            if current["type"].endswith("StateEntered"):
                return entries.get(current["id"])
            current = by_id.get(current.get("previousEventId", 0))
        return None

    iterations: dict[int, tuple[_Entry, IterationRow]] = {}  # MapIterationStarted id -> its row

    def owning_iteration(event: dict[str, Any]) -> IterationRow | None:
        current: dict[str, Any] | None = by_id.get(event.get("previousEventId", 0))
        while current is not None:
            if current["type"] == "MapIterationStarted":
                found = iterations.get(current["id"])
                return found[1] if found else None
            current = by_id.get(current.get("previousEventId", 0))
        return None

    current_top: _Entry | None = None
    each: dict[int, list[IterationRow]] = {}  # id(Map entry) -> its iterations
    for event in history:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            entry = _Entry(name=name, type=types.get(name, "?"), started=event["timestamp"])
            entries[event["id"]] = entry
            if name not in parent:
                current_top = entry  # top-level states run one after another
            else:
                iteration = owning_iteration(event)
                if iteration is not None:
                    iteration.path.append(name)
                    if iteration.ip is None:
                        iteration.ip = _json(event["stateEnteredEventDetails"].get("input")).get("ip")
            continue
        if kind == "MapIterationStarted" and current_top is not None:
            index = int(event.get("mapIterationStartedEventDetails", {}).get("index", 0))
            row = IterationRow(index=index)
            iterations[event["id"]] = (current_top, row)
            each.setdefault(id(current_top), []).append(row)
        if kind.endswith("StateExited") and _exited_name(event) in parent:
            iteration = owning_iteration(event)
            if iteration is not None:
                # A check's verdict, or (experiment mode's RequestScans) a scan request's outcome.
                output = _json(event["stateExitedEventDetails"].get("output"))
                verdict = output.get("verdict") or output.get("scan")
                iteration.verdict = verdict if isinstance(verdict, str) else iteration.verdict
        inside_map = current_top is not None and current_top.type == "Map" and current_top.exited is None
        if kind in ("TaskScheduled", "MapIterationFailed") and inside_map:
            # After the Map, events may chain back into its last iteration: those are not its own.
            iteration = owning_iteration(event) if kind == "TaskScheduled" else None
            if kind == "MapIterationFailed":
                for _owner, row in iterations.values():
                    if row.index == event.get("mapIterationFailedEventDetails", {}).get("index"):
                        row.failed = True
            elif iteration is not None:
                iteration.retries += 1
        if kind.startswith("Map") or (kind.endswith("StateExited") and _exited_name(event) not in parent):
            # Map-level events and top-level exits belong to the current top-level state; their
            # previousEventId may point into the last iteration.
            entry = current_top
        else:
            entry = owning_entry(event)
        if entry is None:
            continue
        if kind == "TaskScheduled":
            entry.schedules += 1
        elif kind in _FAILED_EVENTS:
            entry.failures += 1
        elif kind == "MapIterationStarted":
            entry.iterations += 1
        elif kind.endswith("StateExited"):
            entry.exited = event["timestamp"]

    rows: list[StateRow] = []
    current_map: dict[str, StateRow] = {}
    for entry in entries.values():
        if entry.name in parent:
            owner = current_map.get(parent[entry.name])
            if owner is None:
                continue
            inner = owner.inner.setdefault(entry.name, InnerSummary(type=entry.type))
            inner.entered += 1
            inner.retries += entry.retries
            inner.outcomes[entry.outcome] = inner.outcomes.get(entry.outcome, 0) + 1
            continue
        outcome = entry.outcome
        if entry.exited is None and status == "RUNNING":
            outcome = "RUNNING"
        row = StateRow(
            name=entry.name,
            type=entry.type,
            status=outcome,
            duration=(entry.exited - entry.started).total_seconds() if entry.exited else None,
            retries=entry.retries,
            iterations=entry.iterations,
        )
        rows.append(row)
        if entry.type == "Map":
            current_map[entry.name] = row
            row.each = sorted(each.get(id(entry), []), key=lambda r: r.index)
            for iteration in row.each:  # retries: Task schedules beyond one per Task state entered
                tasks = sum(1 for name in iteration.path if types.get(name) == "Task")
                iteration.retries = max(0, iteration.retries - tasks)
    return rows


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


MAX_ITERATIONS_SHOWN = 50


def _exited_name(event: dict[str, Any]) -> str:
    return event.get("stateExitedEventDetails", {}).get("name", "")


def render_timeline(rows: list[StateRow]) -> Iterator[str]:
    yield f"  {'state':<28} {'type':<8} {'status':<10} {'duration':>9}  notes"
    for row in rows:
        duration = f"{row.duration:8.2f}s" if row.duration is not None else "        -"
        notes = []
        if row.type == "Map":
            notes.append(f"{row.iterations} iteration(s)")
        if row.retries:
            notes.append(f"{row.retries} retr{'y' if row.retries == 1 else 'ies'}")
        yield f"  {row.name:<28} {row.type:<8} {row.status:<10} {duration}  {', '.join(notes)}".rstrip()
        for name, inner in row.inner.items():
            parts = [f"entered {inner.entered}"]
            parts += [f"{outcome.lower()} {n}" for outcome, n in sorted(inner.outcomes.items())]
            if inner.retries:
                parts.append(f"retries {inner.retries}")
            yield f"    └ {name:<24} {inner.type:<8} {'; '.join(parts)}"
        for iteration in row.each[:MAX_ITERATIONS_SHOWN]:
            verdict = iteration.verdict or ("FAILED" if iteration.failed else "-")
            retried = (
                f"  ({iteration.retries} retr{'y' if iteration.retries == 1 else 'ies'})" if iteration.retries else ""
            )
            path = " > ".join(iteration.path)
            yield f"    #{iteration.index:<4} {iteration.ip or '?':<28} {verdict:<14} {path}{retried}"
        if len(row.each) > MAX_ITERATIONS_SHOWN:
            yield f"    ... and {len(row.each) - MAX_ITERATIONS_SHOWN} more iteration(s)"


ROTATION_STEPS = ("PlanRotation", "TrackReplacements", "JudgeReplacements", "RotationAborted")


def rotation_outcome(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rotation tracker's last word: one entry per exposed honeypot it had to move."""
    outcome: list[dict[str, Any]] = []
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if event["type"].endswith("StateExited") and details.get("name") in ROTATION_STEPS:
            state = (json.loads(details.get("output") or "{}").get("rotation") or {}).get("state") or {}
            outcome = state.get("outcome") or []
    keys = ("from", "to", "via", "attempts", "status", "reason")
    # The service it rotated in (ECS's group of the stopped task) and stops the lifetime count
    # missed, when there are.
    optional = ("service", "uncounted")
    return [{k: chain.get(k) for k in keys} | {k: chain[k] for k in optional if k in chain} for chain in outcome]


def scan_outcomes(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Experiment mode: each RequestScans iteration's end ({ip, scan, scanId | error})."""
    for event in history:
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") == "RequestScans":
            return list(json.loads(details.get("output") or "{}").get("scanRequests") or [])
    return []


@dataclass
class SweepReport:
    status: str
    execution_arn: str
    checked: list[dict[str, Any]]
    s3_keys: list[str]
    emails: list[dict[str, str]]
    rotated: list[dict[str, Any]]
    error: str | None = None
    cause: str | None = None
    # What the caller saw besides the execution: honeypots RUNNING when the sweep started, and
    # the local Shodan's answers by HTTP status (None: not known).
    running: int | None = None
    shodan_answers: dict[int, int] | None = None
    internetdb_answers: dict[int, int] | None = None  # the local InternetDB's, by HTTP status
    # Experiment mode: each IP's arm (from the sweep record) and the scan requests' outcomes.
    arms: dict[str, str] | None = None
    scans: list[dict[str, Any]] = field(default_factory=list)

    def _nothing_checked(self) -> str:
        if self.status != "SUCCEEDED":
            running = f"{self.running} honeypot(s) RUNNING, but " if self.running else ""
            return f"  (none: {running}the sweep {self.status} before any IP was checked)"
        return "  (none: no RUNNING honeypot with a public IP)"

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status,
            "executionArn": self.execution_arn,
            "checked": self.checked,
            "s3Keys": self.s3_keys,
            "emails": self.emails,
            "rotated": self.rotated,
        }
        if self.running is not None:
            document["running"] = self.running
        if self.shodan_answers is not None:
            document["shodanAnswers"] = {str(k): v for k, v in sorted(self.shodan_answers.items())}
        if self.internetdb_answers is not None:
            document["internetDbAnswers"] = {str(k): v for k, v in sorted(self.internetdb_answers.items())}
        if self.arms is not None:
            document["experiment"] = {"arms": self.arms, "scans": self.scans}
        if self.error:
            document["error"] = self.error
            document["cause"] = self.cause
        return document

    def render(self) -> Iterator[str]:
        yield "IPs checked:"
        if not self.checked:
            yield self._nothing_checked()
        for item in self.checked:
            extra = f"  {item['error']}" if item.get("error") else ""
            yield f"  {item['ip']:<16} {item['verdict']}{extra}"
        if self.shodan_answers is not None:
            answers = ", ".join(f"{n} x {status}" for status, n in sorted(self.shodan_answers.items()))
            retried = " (429: rate limited, retried)" if 429 in self.shodan_answers else ""
            yield f"Shodan requests ({sum(self.shodan_answers.values())}): {answers or 'none'}{retried}"
        if self.internetdb_answers is not None:
            answers = ", ".join(f"{n} x {status}" for status, n in sorted(self.internetdb_answers.items()))
            yield f"InternetDB requests ({sum(self.internetdb_answers.values())}): {answers or 'none'} (404: not in it)"
        yield f"S3 objects written ({len(self.s3_keys)}):"
        yield from (f"  {key}" for key in self.s3_keys)
        yield f"Emails sent ({len(self.emails)}):"
        for mail in self.emails:
            yield f"  Subject: {mail['subject']}"
            yield from (f"  | {line}" for line in mail["body"].splitlines())
        if self.arms is not None:
            asked = f"{len(self.scans)} scan(s) asked"
            yield f"Experiment (ExperimentMode=on): {len(self.arms)} tenure(s) in an arm, {asked}"
            scans = {scan.get("ip"): scan for scan in self.scans}
            for ip, arm in sorted(self.arms.items()):
                scan = scans.get(ip) or {}
                outcome = scan.get("scan", "")
                detail = scan.get("scanId") or scan.get("error") or ""
                yield f"  {ip:<16} {arm:<10} {outcome} {detail}".rstrip()
        yield f"Rotations ({len(self.rotated)}):"
        for rotation in self.rotated:
            via = f" (via dirty {', '.join(rotation['via'])})" if rotation.get("via") and rotation.get("to") else ""
            reason = f"  [{rotation['reason']}]" if rotation.get("reason") else ""
            target = rotation.get("to") or "FAILED"
            yield f"  {rotation['from']} -> {target}{via}, {rotation.get('attempts')} attempt(s){reason}"
