"""Turn one sweep into its record, the IPs' updated histories and, when something changed,
an email (pure, no AWS).

The state machine hands over what the Map produced for every IP (a Shodan verdict, or an error
recorded for that IP) and the outcome of any rotation. The IPs' histories (the exposure table)
say what is new: only changes are emailed (see exposure_history).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ics_honeynet.contracts import (
    EXPOSED_VERDICTS,
    ChainStatus,
    ChangeKind,
    HoneyscoreStatus,
    NotAsked,
    RotateOn,
    ScanTarget,
    ShodanEngine,
    SummaryOutput,
    Verdict,
)
from ics_honeynet.experiment import scan_targets
from ics_honeynet.exposure_history import (
    CHANGE_KINDS,
    OTHER_ENGINES,
    ArmDraw,
    Change,
    IpHistory,
    OtherEngine,
    PersonaNamer,
    record_check,
    record_rotation,
)
from ics_honeynet.sweep_results import failure_message

# SNS Publish: a Subject must be ASCII without line breaks and "less than 100 characters".
MAX_SUBJECT = 99
# Entries per section of the email: a first sweep of thousands of IPs would otherwise exceed
# SNS's 256 KB message (and the state machine's state); the sweep record has them all.
MAX_LISTED = 25


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
    honeyscore_status: str | None = None
    honeyscore_error: str | None = None
    last_update: str | None = None
    org: str | None = None
    evidence_key: str | None = None
    evidence_stored: bool = False
    evidence_error: str | None = None
    error: str | None = None
    cause: str | None = None
    error_key: str | None = None
    error_stored: bool = False
    engine: str | None = None  # whose verdict (contracts.ShodanEngine); None: not checked
    # The other engines' opinions the result carries, by its key (exposure_history.OTHER_ENGINES:
    # internetDb, censys; contracts.EngineOpinion; Censys's OFF: no token).
    opinions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepSummary:
    checked: int
    findings: list[Finding] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    histories: dict[str, IpHistory] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    rotation: list[dict[str, Any]] = field(default_factory=list)
    history_error: str | None = None
    rotation_error: str | None = None
    subject: str = ""
    message: str = ""
    record_key: str = ""
    record: dict[str, Any] = field(default_factory=dict)
    first_sweep: bool = False  # no IP of this sweep was checked before (and the table was readable)
    scans: list[ScanTarget] = field(default_factory=list)  # experiment mode: scans to request
    shodan_alert: Mapping[str, Any] | None = None  # what SyncShodanAlert did (contracts.AlertSync)
    shodan_engine: str = ShodanEngine.API  # the stack's ShodanEngine

    @property
    def unwatched(self) -> list[str]:
        """Honeypot IPs over the plan's monitored-IP limit, when they differ from the last sweep's
        (news, emailed once): Shodan Monitor does not watch them, only the scheduled sweep does."""
        alert = self.shodan_alert or {}
        return list(alert.get("unmonitored") or []) if alert.get("unmonitoredChanged") else []

    @property
    def exposed(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict in EXPOSED_VERDICTS]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict not in (*EXPOSED_VERDICTS, Verdict.NOT_INDEXED)]

    @property
    def notify(self) -> bool:
        """Email only when something changed: the same exposure twice a day is noise."""
        return bool(self.changes or self.rotation_error or self.unwatched)

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def to_json(self) -> SummaryOutput:
        """SummarizeSweep's reply; the record (too big for the state at scale) goes to S3."""
        return {
            "notify": self.notify,
            "recordKey": self.record_key,
            "subject": self.subject,
            "message": self.message,
            "checked": self.checked,
            "exposedCount": len(self.exposed),
            "fingerprintedCount": sum(f.verdict == Verdict.FINGERPRINTED for f in self.exposed),
            "errorCount": len(self.errors),
            "skippedCount": len(self.skipped),
            "changes": {kind: self.count(kind) for kind in CHANGE_KINDS},
            "scans": self.scans,
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
        verdict=str(result.get("verdict") or Verdict.ERROR),
        task_arn=result.get("taskArn"),
        ports=tuple(sorted(int(p) for p in result.get("ports") or ())),
        tags=tuple(result.get("tags") or ()),
        honeyscore=result.get("honeyscore"),
        honeyscore_status=result.get("honeyscoreStatus"),
        honeyscore_error=result.get("honeyscoreError"),
        last_update=result.get("lastUpdate"),
        org=result.get("org"),
        evidence_key=result.get("evidenceKey"),
        evidence_stored=stored,
        evidence_error=evidence_error,
        error=result.get("error"),
        cause=result.get("cause"),
        error_key=result.get("errorKey"),
        error_stored=isinstance(result.get("failure"), Mapping) and result["failure"].get("stored") is True,
        engine=result.get("engine"),
        opinions={e.key: result[e.key] for e in OTHER_ENGINES if isinstance(result.get(e.key), Mapping)},
    )


def summarize(
    results: Iterable[Mapping[str, Any]],
    *,
    rotate_on: str,
    execution: str,
    evidence_bucket: str,
    checked_at: str,
    histories: Mapping[str, IpHistory] | None,
    history_error: str | None = None,
    rotation: Iterable[Mapping[str, Any]] = (),
    rotation_error: str | None = None,
    skipped: Iterable[Mapping[str, str]] = (),
    record_key: str = "",
    sweep_started_at: str | None = None,
    draw: ArmDraw | None = None,
    shodan_alert: Mapping[str, Any] | None = None,
    name_persona: PersonaNamer | None = None,
    shodan_engine: str = ShodanEngine.API,
) -> SweepSummary:
    """``histories``: the table's items for this sweep's IPs (and the rotation's new IPs), or
    None when the table could not be read - then every finding counts as new (better a repeated
    alert than a missed one). ``draw``: experiment mode - each new tenure of ours is assigned an
    arm, and the treatment tenures still holding their IP are the scans to request (never when
    the table could not be read: a tenure's arm is drawn only against its stored history).
    ``name_persona``: each new tenure of ours records its task's persona; every result of a
    tenure with one says it (``persona``, in the sweep record)."""
    if rotate_on not in tuple(RotateOn):
        raise InvalidSweepInput(f"rotateOn must be one of {', '.join(RotateOn)}, not {rotate_on!r}")
    if shodan_engine not in tuple(ShodanEngine):
        raise InvalidSweepInput(f"shodanEngine must be one of {', '.join(ShodanEngine)}, not {shodan_engine!r}")
    results = list(results)
    draw = draw if histories is not None else None
    findings = [parse_finding(r) for r in results]
    known = dict(histories or {})
    updated: dict[str, IpHistory] = {}
    changes: list[Change] = []
    recorded = []
    for result in results:
        ip = str(result["ip"])
        history, found = record_check(
            known.get(ip), result, checked_at=checked_at, execution=execution, draw=draw, name_persona=name_persona
        )
        updated[ip] = history
        changes.extend(found)
        recorded.append({**result, "persona": history.persona} if history.persona else dict(result))
    chains = [dict(chain) for chain in rotation]
    merged = {**known, **updated}  # record_rotation updates the old and new IPs' entries in place
    for chain in chains:
        changes.append(
            record_rotation(
                merged, chain, checked_at=checked_at, execution=execution, draw=draw, name_persona=name_persona
            )
        )
    moved = {ip for chain in chains for ip in (chain.get("from"), chain.get("to")) if ip in merged}
    updated.update({ip: merged[ip] for ip in moved})
    # Honeypots of ours holding their IP now: the rotated ones have moved to their chain's "to".
    left = {c.get("from") for c in chains if c.get("status") == ChainStatus.ROTATED and c.get("to")}
    holding = [h for ip, h in updated.items() if ip not in left]
    changes.sort(key=lambda c: CHANGE_KINDS.index(c.kind))
    skipped_list = [dict(s) for s in skipped]
    summary = SweepSummary(
        checked=len(findings),
        findings=findings,
        changes=changes,
        histories=updated,
        skipped=skipped_list,
        rotation=chains,
        history_error=history_error,
        rotation_error=rotation_error,
        record_key=record_key,
        scans=scan_targets(holding) if draw is not None else [],
        # Items the ASL's CountRotation created this sweep hold no check: they are not a last sweep.
        first_sweep=histories is not None and not any(h.last_checked for h in known.values()),
        shodan_alert=dict(shodan_alert) if shodan_alert else None,
        shodan_engine=ShodanEngine(shodan_engine),
    )
    record = {
        "execution": execution,
        "sweepStartedAt": sweep_started_at,
        "checkedAt": checked_at,
        "rotateOn": rotate_on,
        "shodanEngine": summary.shodan_engine,
        "checked": len(findings),
        "changes": [c.to_json() for c in changes],
        "historyError": history_error,
        "results": recorded,
        "skipped": skipped_list,
        "rotation": chains,
        "rotationError": rotation_error,
        "experiment": _experiment_record(updated.values()) if draw is not None else None,
        "shodanAlert": summary.shodan_alert,
    }
    return replace(
        summary,
        record=record,
        subject=compose_subject(summary),
        message=compose_message(summary, execution=execution, evidence_bucket=evidence_bucket, rotate_on=rotate_on),
    )


def _experiment_record(histories: Iterable[IpHistory]) -> dict[str, Any]:
    """The sweep record's view of the experiment: each IP's current arm (the scans requested
    after this record are in each IP's history, written by the ASL)."""
    return {"arms": {h.ip: h.arm for h in histories if h.arm is not None}}


_SUBJECT_PARTS = {
    ChangeKind.NEWLY_FINGERPRINTED: "{n} newly fingerprinted",
    ChangeKind.NEWLY_INDEXED: "{n} newly on Shodan",
    ChangeKind.NEWLY_IN_INTERNETDB: "{n} newly in InternetDB",
    ChangeKind.NEWLY_IN_CENSYS: "{n} newly in Censys",
    ChangeKind.ROTATED: "{n} rotated",
    ChangeKind.ROTATION_FAILED: "{n} rotation(s) failed",
    ChangeKind.CHECK_FAILING: "{n} not checked",
}


def compose_subject(summary: SweepSummary) -> str:
    parts = [template.format(n=summary.count(kind)) for kind, template in _SUBJECT_PARTS.items() if summary.count(kind)]
    if summary.rotation_error:
        parts.append("rotation aborted")
    if summary.unwatched:
        parts.append(f"{len(summary.unwatched)} IP(s) over the Shodan Monitor limit")
    subject = "ICS honeynet: " + (", ".join(parts) if parts else "no change")
    return subject if len(subject) <= MAX_SUBJECT else subject[: MAX_SUBJECT - 3] + "..."


SHODAN_HOST_PAGE = "https://www.shodan.io/host/{ip}"
INTERNETDB_ONLY = (
    "Verdicts by Shodan InternetDB alone (ShodanEngine=internetdb: no Shodan API key): weekly data without "
    "banner dates (a recycled IP's previous holder counts as us), no honeyscore, no Shodan Monitor push."
)
EXTRA_IP_LABEL = "extra IP (ExtraHoneypotIps: outside this stack, never rotated)"


def _label(f: Finding) -> str:
    """After an IP on a one-line entry: extra IPs (no task of ours) say so."""
    return "  [extra IP]" if f.task_arn is None else ""


def _honeyscore_text(f: Finding) -> str:
    if f.honeyscore is not None:
        return str(f.honeyscore)
    if f.honeyscore_status == HoneyscoreStatus.UNAVAILABLE:
        # Not a low score: Shodan did not answer; the verdict stands on the tags alone.
        return f"UNKNOWN - Shodan did not answer ({f.honeyscore_error or 'unavailable'}); asked again next sweep"
    if f.honeyscore_status == HoneyscoreStatus.NO_SCORE:
        return "none (Shodan gives no honeyscore for this IP)"
    if f.engine == ShodanEngine.INTERNETDB:
        return "not asked (InternetDB gives none)"
    return "unknown"


def _opinion_text(said: Mapping[str, Any]) -> str:
    """Another engine's opinion on one line: its verdict and what it lists, or why it could not
    be asked (InternetDB's, Censys's)."""
    verdict = str(said.get("verdict") or Verdict.ERROR)
    if verdict == Verdict.ERROR:
        return f"ERROR ({said.get('error') or 'not asked'}; asked again next sweep)"
    if verdict == NotAsked.SKIPPED_BUDGET:
        return "SKIPPED_BUDGET (this month's CensysMonthlyLookups are spent; not asked)"
    listed = [f"ports {', '.join(map(str, said['ports']))}"] if said.get("ports") else []
    listed += [f"protocols {', '.join(said['protocols'])}"] if said.get("protocols") else []
    listed += [f"tags {', '.join(said['tags'])}"] if said.get("tags") else []
    return verdict + (f" ({'; '.join(listed)})" if listed else "")


def _shown_opinions(f: Finding) -> list[tuple[str, Mapping[str, Any]]]:
    """The other engines' opinions worth a line, named: not an engine's that made the check itself
    (InternetDB under ShodanEngine=internetdb), not one that was off (Censys without a token)."""
    return [
        (e.name, said)
        for e in OTHER_ENGINES
        if (said := f.opinions.get(e.key)) is not None
        and said.get("verdict") != NotAsked.OFF
        and (e.checks_as is None or f.engine != e.checks_as)
    ]


def _finding_lines(f: Finding, evidence_bucket: str) -> list[str]:
    lines = [f"- {f.ip}  {f.verdict}{_label(f)}"]
    lines.append(f"    task:       {f.task_arn or EXTRA_IP_LABEL}")
    lines.append(f"    on Shodan:  {SHODAN_HOST_PAGE.format(ip=f.ip)}")
    lines.append(f"    ports:      {', '.join(map(str, f.ports)) or '-'}")
    lines.append(f"    tags:       {', '.join(f.tags) or '-'}")
    lines.append(f"    honeyscore: {_honeyscore_text(f)}")
    lines += [f"    {name + ':':<11} {_opinion_text(said)}" for name, said in _shown_opinions(f)]
    if f.org:
        lines.append(f"    org:        {f.org}")
    if f.last_update:
        lines.append(f"    last seen:  {f.last_update} (UTC)")
    if f.evidence_stored and f.evidence_key:
        lines.append(f"    evidence:   s3://{evidence_bucket}/{f.evidence_key}")
    elif f.evidence_error:
        lines.append(f"    evidence:   NOT STORED ({f.evidence_error})")
    return lines


CENSYS_REJECTED = (
    "Censys rejected the token (CensysAuthError, HTTP 401/403): check the SSM parameter named by "
    "CensysTokenParameter; Shodan's verdicts are unaffected."
)


def _censys_notes(findings: Iterable[Finding]) -> list[str]:
    """What the email says of Censys as a whole: a rejected or unreadable token, and the IPs the
    month's budget left unasked (each IP's line says it too)."""
    said = [f.opinions["censys"] for f in findings if "censys" in f.opinions]
    errors = {str(s.get("error")) for s in said if s.get("verdict") == Verdict.ERROR}
    skipped = sum(1 for s in said if s.get("verdict") == NotAsked.SKIPPED_BUDGET)
    notes = [CENSYS_REJECTED] if "CensysAuthError" in errors else []
    if "CensysTokenUnavailableError" in errors:
        notes.append("Censys's token could not be read (CensysTokenUnavailableError): see CensysTokenParameter.")
    if skipped:
        notes.append(
            f"Censys: {skipped} IP(s) not asked, this month's CensysMonthlyLookups are spent (SKIPPED_BUDGET)."
        )
    return [*notes, ""] if notes else []


# Each other engine's "newly in" section: its title, and what Shodan's verdict beside it is called.
NEWLY_IN_SECTIONS = {
    "internetDb": ("Newly in Shodan InternetDB (the free, keyless index; weekly), beside Shodan's API verdict:",
                   "Shodan's API"),
    "censys": ("Newly in Censys (the second index), beside Shodan's verdict:", "Shodan"),
}  # fmt: skip


def _newly_in(changes: list[Change], by_ip: Mapping[str, Finding], engine: OtherEngine) -> list[str]:
    """The email's section for another engine newly listing IPs: each with that engine's opinion
    (the finding's, else the verdict the change kept) beside Shodan's verdict."""
    if not changes:
        return []
    title, shodan = NEWLY_IN_SECTIONS[engine.key]
    lines = [title]
    shown, more = _capped(changes)
    for change in shown:
        finding = by_ip[change.ip]
        said = finding.opinions.get(engine.key) or {"verdict": change.detail.get(engine.key)}
        opinion = _opinion_text(said)
        lines.append(f"- {change.ip}{_label(finding)}  {engine.name}: {opinion}  ({shodan}: {finding.verdict})")
    return [*lines, *more, ""]


def _unchanged_line(f: Finding) -> str:
    unknown = (
        "  (honeyscore UNKNOWN: Shodan did not answer)" if f.honeyscore_status == HoneyscoreStatus.UNAVAILABLE else ""
    )
    others = "".join(f"  ({name}: {said.get('verdict')})" for name, said in _shown_opinions(f))
    return f"- {f.ip}  {f.verdict}{_label(f)}{unknown}{others}  {SHODAN_HOST_PAGE.format(ip=f.ip)}"


def _error_line(f: Finding, evidence_bucket: str) -> str:
    line = f"- {f.ip}{_label(f)}  {f.error or 'error'}"
    if f.cause:
        line += f": {f.cause}"
    if f.error_key and f.error_stored:
        line += f" (details: s3://{evidence_bucket}/{f.error_key})"
    return line


def _rotation_line(chain: Mapping[str, Any]) -> str:
    attempts = int(chain.get("attempts") or 0)
    line = f"- {chain.get('from')} -> {chain.get('to')}"
    if attempts > 1:
        line += f"  ({attempts} attempts; skipped dirty IP(s) {', '.join(chain.get('via') or [])})"
    if chain.get("reason"):
        line += f"  [{chain['reason']}]"
    if chain.get("uncounted"):
        line += f"  (the exposure table's lifetime rotation count missed {chain['uncounted']} of these stops)"
    return line


def _capped(items: list[Any]) -> tuple[list[Any], list[str]]:
    """The first MAX_LISTED items, and a line saying how many more the record holds."""
    more = len(items) - MAX_LISTED
    return items[:MAX_LISTED], [f"- ... and {more} more (all in the sweep record)"] if more > 0 else []


def _headline(summary: SweepSummary) -> str:
    """How many IPs were checked (not counting those that could not be), and how many changes -
    "since the last sweep" only when an earlier sweep saw any of these IPs."""
    total, failed = summary.checked, len(summary.errors)
    if not failed:
        checked = f"{total} honeypot IP(s) checked"
    elif failed == total:
        checked = f"none of {total} honeypot IP(s) could be checked"
    else:
        checked = f"{total - failed} of {total} honeypot IP(s) checked, {failed} could not be"
    if summary.first_sweep:
        return f"{checked}; first sweep of these IPs, {len(summary.changes)} finding(s)"
    return f"{checked}; {len(summary.changes)} change(s) since the last sweep"


def compose_message(summary: SweepSummary, *, execution: str, evidence_bucket: str, rotate_on: str) -> str:
    """Plain-text email body: the changes first, every figure spelled out."""
    by_ip = {f.ip: f for f in summary.findings}
    changed = {kind: [c for c in summary.changes if c.kind == kind] for kind in CHANGE_KINDS}
    lines = [f"Shodan sweep {execution}: {_headline(summary)}.", ""]
    if summary.shodan_engine == ShodanEngine.INTERNETDB:
        lines += [INTERNETDB_ONLY, ""]
    if summary.history_error:
        lines += [f"Exposure history unavailable ({summary.history_error}): every finding is reported as new.", ""]
    for kind, title in (
        (ChangeKind.NEWLY_FINGERPRINTED, "Newly fingerprinted as a honeypot:"),
        (ChangeKind.NEWLY_INDEXED, "Newly on Shodan:"),
    ):
        if changed[kind]:
            lines.append(title)
            shown, more = _capped(changed[kind])
            for change in shown:
                lines.extend(_finding_lines(by_ip[change.ip], evidence_bucket))
            lines += [*more, ""]
    for engine in OTHER_ENGINES:
        lines += _newly_in(changed[engine.change], by_ip, engine)
    lines += _censys_notes(summary.findings)
    if changed[ChangeKind.ROTATED]:
        lines.append(f"Rotated to a fresh IP (RotateOn={rotate_on}), the new IP checked on Shodan:")
        shown, more = _capped(changed[ChangeKind.ROTATED])
        lines += [*(_rotation_line(c.detail) for c in shown), *more, ""]
    if summary.rotation_error:
        lines += [f"Rotation ABORTED: {summary.rotation_error}", ""]
    if changed[ChangeKind.ROTATION_FAILED]:
        lines.append("Rotation FAILED (the honeypot may still be on an exposed IP):")
        shown, more = _capped(changed[ChangeKind.ROTATION_FAILED])
        lines += [*(f"- {c.ip}: {c.detail.get('reason') or 'unknown reason'}" for c in shown), *more, ""]
    if changed[ChangeKind.CHECK_FAILING]:
        lines.append("Could not be checked this sweep (recorded; retried next sweep; not repeated while it fails):")
        shown, more = _capped(changed[ChangeKind.CHECK_FAILING])
        lines += [*(_error_line(by_ip[c.ip], evidence_bucket) for c in shown), *more, ""]
    newly = {
        c.ip
        for c in summary.changes
        if c.kind in (ChangeKind.NEWLY_FINGERPRINTED, ChangeKind.NEWLY_INDEXED, ChangeKind.ROTATED)
    }
    unchanged = [f for f in summary.exposed if f.ip not in newly]
    if unchanged:
        lines.append(f"Still on Shodan, unchanged ({len(unchanged)}):")
        shown, more = _capped(unchanged)
        lines += [*(_unchanged_line(f) for f in shown), *more, ""]
    if summary.unwatched:
        alert = summary.shodan_alert or {}
        lines.append(
            f"Shodan Monitor watches {alert.get('monitored', '?')} honeypot IP(s), your plan's limit "
            f"({alert.get('limit', '?')} monitored IPs); not watched (found by the scheduled sweep only):"
        )
        shown, more = _capped(summary.unwatched)
        lines += [*(f"- {ip}" for ip in shown), *more, ""]
    if summary.skipped:
        lines.append("Tasks without a public IP yet (not checked):")
        shown, more = _capped(summary.skipped)
        lines += [*(f"- {s.get('taskArn', '?')}: {s.get('reason', '')}" for s in shown), *more, ""]
    if summary.record_key:
        lines.append(f"Every IP of this sweep, with its verdict or error: s3://{evidence_bucket}/{summary.record_key}")
    lines.append("-- ICS honeynet sweep (Step Functions execution " + execution + ")")
    return "\n".join(lines)


def describe_failure(failure: Any) -> str | None:
    """A Step Functions Catch's {Error, Cause} as one line (a Lambda's Cause is JSON with a trace)."""
    if not isinstance(failure, dict):
        return None
    cause = failure_message(failure.get("Cause"))
    return f"{failure.get('Error') or 'error'}: {cause}"[:500].rstrip(": ")
