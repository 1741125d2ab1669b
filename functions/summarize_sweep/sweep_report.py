"""Turn one sweep's lookup results into an alert and a rotation plan (pure, no AWS).

The state machine hands over what the Map produced for every IP: a Shodan verdict, or an
error recorded for that IP. This module decides what the researcher is told, and which
honeypot tasks must move to a new IP under the stack's ``RotateOn`` setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

RotateOn = Literal["never", "indexed", "fingerprinted"]
ROTATE_ON_VALUES: tuple[str, ...] = ("never", "indexed", "fingerprinted")

INDEXED = "INDEXED"
FINGERPRINTED = "FINGERPRINTED"
NOT_INDEXED = "NOT_INDEXED"
ERROR = "ERROR"
EXPOSED_VERDICTS = (INDEXED, FINGERPRINTED)

# SNS rejects subjects over 100 characters.
MAX_SUBJECT = 100


class InvalidSweepInput(ValueError):
    """The state machine passed something this function cannot summarise."""


@dataclass(frozen=True)
class Finding:
    ip: str
    verdict: str
    task_arn: str | None = None
    ports: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    honeyscore: float | None = None
    last_update: str | None = None
    org: str | None = None
    evidence_key: str | None = None
    evidence_stored: bool = False
    evidence_error: str | None = None
    error: str | None = None
    cause: str | None = None
    error_key: str | None = None
    error_stored: bool = False


@dataclass(frozen=True)
class RotationOrder:
    task_arn: str
    ip: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"taskArn": self.task_arn, "ip": self.ip, "reason": self.reason}


@dataclass(frozen=True)
class SweepSummary:
    checked: int
    exposed: list[Finding] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    rotate: list[RotationOrder] = field(default_factory=list)
    subject: str = ""
    message: str = ""
    record_key: str = ""
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def notify(self) -> bool:
        return bool(self.exposed or self.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "notify": self.notify,
            "recordKey": self.record_key,
            "subject": self.subject,
            "message": self.message,
            "checked": self.checked,
            "exposedCount": len(self.exposed),
            "fingerprintedCount": sum(f.verdict == FINGERPRINTED for f in self.exposed),
            "errorCount": len(self.errors),
            "skippedCount": len(self.skipped),
            "rotate": [order.to_json() for order in self.rotate],
            "record": self.record,
        }


def parse_finding(result: Mapping[str, Any]) -> Finding:
    """Read one Map iteration's output (a lookup result, or a recorded lookup error)."""
    if not isinstance(result, Mapping) or not result.get("ip"):
        raise InvalidSweepInput(f"a sweep result has no 'ip': {result!r:.200}")
    evidence = result.get("evidence")
    stored = isinstance(evidence, Mapping) and evidence.get("stored") is True
    evidence_error = None
    if isinstance(evidence, Mapping) and "Error" in evidence:
        evidence_error = f"{evidence.get('Error')}: {evidence.get('Cause', '')}".strip(": ")
    return Finding(
        ip=str(result["ip"]),
        verdict=str(result.get("verdict") or ERROR),
        task_arn=result.get("taskArn"),
        ports=tuple(sorted(int(p) for p in result.get("ports") or ())),
        tags=tuple(result.get("tags") or ()),
        honeyscore=result.get("honeyscore"),
        last_update=result.get("lastUpdate"),
        org=result.get("org"),
        evidence_key=result.get("evidenceKey"),
        evidence_stored=stored,
        evidence_error=evidence_error,
        error=result.get("error"),
        cause=result.get("cause"),
        error_key=result.get("errorKey"),
        error_stored=isinstance(result.get("failure"), Mapping) and result["failure"].get("stored") is True,
    )


def should_rotate(verdict: str, rotate_on: str) -> bool:
    if rotate_on == "indexed":
        return verdict in EXPOSED_VERDICTS
    if rotate_on == "fingerprinted":
        return verdict == FINGERPRINTED
    return False


def summarize(
    results: Iterable[Mapping[str, Any]],
    *,
    rotate_on: str,
    execution: str,
    evidence_bucket: str,
    skipped: Iterable[Mapping[str, str]] = (),
    record_key: str = "",
    sweep_started_at: str | None = None,
) -> SweepSummary:
    if rotate_on not in ROTATE_ON_VALUES:
        raise InvalidSweepInput(f"rotateOn must be one of {', '.join(ROTATE_ON_VALUES)}, not {rotate_on!r}")
    results = list(results)
    findings = [parse_finding(r) for r in results]
    exposed = [f for f in findings if f.verdict in EXPOSED_VERDICTS]
    errors = [f for f in findings if f.verdict not in (*EXPOSED_VERDICTS, NOT_INDEXED)]
    rotate = [
        RotationOrder(
            task_arn=f.task_arn,
            ip=f.ip,
            reason=f"ics-honeynet sweep {execution}: {f.ip} is {f.verdict} on Shodan (RotateOn={rotate_on})",
        )
        for f in exposed
        if f.task_arn and should_rotate(f.verdict, rotate_on)
    ]
    skipped_list = [dict(s) for s in skipped]
    summary = SweepSummary(
        checked=len(findings),
        exposed=exposed,
        errors=errors,
        skipped=skipped_list,
        rotate=rotate,
        record_key=record_key,
    )
    record = {
        "execution": execution,
        "sweepStartedAt": sweep_started_at,
        "rotateOn": rotate_on,
        "checked": len(findings),
        "results": [dict(r) for r in results],
        "skipped": skipped_list,
        "rotate": [order.to_json() for order in rotate],
    }
    return replace(
        summary,
        record=record,
        subject=compose_subject(summary),
        message=compose_message(summary, execution=execution, evidence_bucket=evidence_bucket, rotate_on=rotate_on),
    )


def compose_subject(summary: SweepSummary) -> str:
    parts = []
    if summary.exposed:
        fingerprinted = sum(f.verdict == FINGERPRINTED for f in summary.exposed)
        noun = "IP" if len(summary.exposed) == 1 else "IPs"
        text = f"{len(summary.exposed)} honeypot {noun} on Shodan"
        if fingerprinted:
            text += f" ({fingerprinted} fingerprinted)"
        parts.append(text)
    if summary.rotate:
        parts.append(f"rotating {len(summary.rotate)}")
    if summary.errors:
        parts.append(f"{len(summary.errors)} not checked")
    subject = "ICS honeynet: " + ", ".join(parts) if parts else "ICS honeynet: nothing found"
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 1] + "…"


def _finding_lines(f: Finding, evidence_bucket: str) -> list[str]:
    lines = [f"- {f.ip}  {f.verdict}"]
    if f.task_arn:
        lines.append(f"    task:       {f.task_arn}")
    lines.append(f"    ports:      {', '.join(map(str, f.ports)) or '-'}")
    lines.append(f"    tags:       {', '.join(f.tags) or '-'}")
    lines.append(f"    honeyscore: {f.honeyscore if f.honeyscore is not None else 'unknown'}")
    if f.org:
        lines.append(f"    org:        {f.org}")
    if f.last_update:
        lines.append(f"    last seen:  {f.last_update} (UTC)")
    if f.evidence_stored and f.evidence_key:
        lines.append(f"    evidence:   s3://{evidence_bucket}/{f.evidence_key}")
    elif f.evidence_error:
        lines.append(f"    evidence:   NOT STORED ({f.evidence_error})")
    return lines


def _error_line(f: Finding, evidence_bucket: str) -> str:
    line = f"- {f.ip}  {f.error or 'error'}"
    if f.cause:
        line += f": {f.cause}"
    if f.error_key and f.error_stored:
        line += f" (details: s3://{evidence_bucket}/{f.error_key})"
    return line


def compose_message(summary: SweepSummary, *, execution: str, evidence_bucket: str, rotate_on: str) -> str:
    """Plain-text email body: readable in any mail client, every figure spelled out."""
    lines = [f"Shodan sweep {execution}: {summary.checked} honeypot IP(s) checked.", ""]
    if summary.exposed:
        lines.append("Shodan has these honeypot IPs:")
        for finding in summary.exposed:
            lines.extend(_finding_lines(finding, evidence_bucket))
        lines.append("")
    if summary.rotate:
        lines.append(f"Rotating (RotateOn={rotate_on}): these tasks are being stopped; ECS replaces each")
        lines.append("with a new task on a fresh public IP.")
        lines.extend(f"- {order.ip}  {order.task_arn}" for order in summary.rotate)
        lines.append("")
    elif summary.exposed:
        lines.append(f"No rotation (RotateOn={rotate_on}).")
        lines.append("")
    if summary.errors:
        lines.append("Could not be checked this sweep (recorded, retried next sweep):")
        lines.extend(_error_line(f, evidence_bucket) for f in summary.errors)
        lines.append("")
    if summary.skipped:
        lines.append("Tasks without a public IP yet (not checked):")
        lines.extend(f"- {s.get('taskArn', '?')}: {s.get('reason', '')}" for s in summary.skipped)
        lines.append("")
    if summary.record_key:
        lines.append(f"Every IP of this sweep, with its verdict or error: s3://{evidence_bucket}/{summary.record_key}")
    lines.append("-- ICS honeynet sweep (Step Functions execution " + execution + ")")
    return "\n".join(lines)
