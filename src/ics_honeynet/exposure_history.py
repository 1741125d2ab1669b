"""Each honeypot IP's exposure over time, and what changed this sweep (pure, no AWS).

One item per IP in the exposure table. An IP's *tenure* is the task holding it: when a different
task (or, after AWS recycled the IP, our own new task) holds it, the first-seen fields start over;
the lifetime ``rotations`` count stays. Extra IPs (outside the stack) have no task.

What counts as a change, and so as a reason to email:

- ``NEWLY_INDEXED`` / ``NEWLY_FINGERPRINTED``: the first sweep of this tenure with that verdict
  (FINGERPRINTED implies indexed; an IP can go straight to it);
- ``NEWLY_IN_INTERNETDB``: the first sweep of this tenure in which Shodan InternetDB, the second
  opinion, lists the IP (indexed or fingerprinted by its own reading; weekly, so usually days after
  Shodan's API): the free, keyless index many tools read. Not with ``ShodanEngine=internetdb``,
  where InternetDB's verdict is the check's own (NEWLY_INDEXED says it);
- ``NEWLY_IN_CENSYS``: likewise, the first sweep of this tenure in which Censys (the optional
  second index) lists the IP;
- ``CHECK_FAILING``: the IP could not be checked, and the previous check had worked;
- ``ROTATED`` / ``ROTATION_FAILED``: from the sweep's rotation (see track_rotation).

An IP that stays indexed, or keeps failing, is not news: it is in the sweep record, not the email.

In experiment mode (experiment.py) a tenure of ours gets its arm when it starts - drawn once,
stored with the tenure, so a re-run finds it and never draws again - and, in the treatment arm,
when its Shodan scan was requested (``scanRequestedAt``, written by the ASL's ClaimScan *before*
the request, the claim that makes it happen at most once) and how it went (``scanId`` or
``scanError``, written by the ASL after it).

A tenure of ours also records the persona its task served (persona.py: the label derived from
the seed the init container used - the task's ARN, or the pinned PersonaSeed - and the Conpot
template), so the research report can compare how fast personas and Conpot's defaults get
fingerprinted. A replacement from a rotation serves the template of the task it replaced.

The research timeline (issue 13) needs every tenure, not only the current one: when a new tenure
starts, the finished one's milestones move to ``past_tenures`` (``pastTenures`` in the item; the
last ``MAX_PAST_TENURES``). ``tenures()`` gives them all, the current one last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from ics_honeynet.contracts import (
    EXPOSED_VERDICTS,
    Arm,
    ChainStatus,
    ChangeKind,
    NotAsked,
    PersonaTag,
    ShodanEngine,
    Verdict,
    parse_utc,
)
from ics_honeynet.persona import PersonaLabel

CHANGE_KINDS = tuple(ChangeKind)  # the email's order
# A recycled IP comes back to us rarely; 50 tenures keep an item far below DynamoDB's 400 KB.
MAX_PAST_TENURES = 50

# Each tenure's experiment fields (table attribute names), the same in a current tenure and a past one.
EXPERIMENT_ATTRIBUTES = {
    "arm": "arm",
    "arm_assigned_at": "armAssignedAt",
    "scan_requested_at": "scanRequestedAt",
    "scan_requested_by": "scanRequestedBy",
    "scan_id": "scanId",
    "scan_error": "scanError",
}
# Each tenure's persona, the same in a current tenure and a past one.
PERSONA_ATTRIBUTES = {"template": "conpotTemplate", "persona_id": "personaId", "persona_model": "personaModel"}
# Table attribute names <-> fields, in one place (the ASL's CountRotation writes two of them; its
# ClaimScan and RecordScan the scan's).
ATTRIBUTES = {
    "ip": "ip",
    "task_arn": "taskArn",
    "first_seen_running": "firstSeenRunning",
    "first_indexed": "firstIndexed",
    "first_fingerprinted": "firstFingerprinted",
    "last_checked": "lastChecked",
    "last_verdict": "lastVerdict",
    "last_error": "lastError",
    "last_honeyscore_status": "lastHoneyscoreStatus",
    "last_internetdb_verdict": "lastInternetDbVerdict",
    "internetdb_first_indexed": "internetDbFirstIndexed",
    "last_censys_verdict": "lastCensysVerdict",
    "censys_first_indexed": "censysFirstIndexed",
    "rotations": "rotations",
    "last_rotated_at": "lastRotatedAt",
    "replaced_by": "replacedBy",
    "updated_by": "updatedBy",
    "past_tenures": "pastTenures",
    **EXPERIMENT_ATTRIBUTES,
    **PERSONA_ATTRIBUTES,
}
TENURE_ATTRIBUTES = {
    "task_arn": "taskArn",
    "started": "started",
    "first_indexed": "firstIndexed",
    "first_fingerprinted": "firstFingerprinted",
    "rotated_at": "rotatedAt",
    "last_seen": "lastSeen",
    **EXPERIMENT_ATTRIBUTES,
    **PERSONA_ATTRIBUTES,
}


def _arm(value: Any) -> Arm | None:
    return None if value is None else Arm(value)


def _before(a: str, b: str) -> bool:
    """Timestamps from ECS, the sweep and Step Functions are written differently: compare times."""
    try:
        return parse_utc(a) < parse_utc(b)
    except ValueError:
        return False


@dataclass(frozen=True, kw_only=True)
class ExperimentFields:
    """A tenure's experiment fields (EXPERIMENT_ATTRIBUTES), the same in the current tenure
    (IpHistory) and a past one (TenureRecord); None when experiment mode was off."""

    arm: Arm | None = None
    arm_assigned_at: str | None = None
    scan_requested_at: str | None = None
    scan_requested_by: str | None = None
    scan_id: str | None = None
    scan_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class PersonaFields:
    """The persona a tenure's task served (PERSONA_ATTRIBUTES); None for extra IPs and for
    tenures recorded before personas were."""

    template: str | None = None  # the Conpot template
    persona_id: str | None = None  # "p-" + 10 hex digits, or "stock"
    persona_model: str | None = None

    @property
    def persona(self) -> PersonaTag | None:
        if self.persona_id is None:
            return None
        return PersonaTag(id=self.persona_id, model=self.persona_model or "")


@dataclass(frozen=True)
class TenureRecord(ExperimentFields, PersonaFields):
    """One task's time on an IP, with its exposure milestones (ISO 8601 UTC strings). ``last_seen``
    is the last sweep that found the task running: the end of what was observed, when the task
    ended without a rotation of ours (a crash, a deploy)."""

    task_arn: str | None = None
    started: str | None = None
    first_indexed: str | None = None
    first_fingerprinted: str | None = None
    rotated_at: str | None = None
    last_seen: str | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> TenureRecord:
        values = {field: item.get(attribute) for field, attribute in TENURE_ATTRIBUTES.items()}
        return cls(**{**values, "arm": _arm(values["arm"])})

    def to_item(self) -> dict[str, Any]:
        return {TENURE_ATTRIBUTES[k]: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class IpHistory(ExperimentFields, PersonaFields):
    ip: str
    task_arn: str | None = None
    first_seen_running: str | None = None
    first_indexed: str | None = None
    first_fingerprinted: str | None = None
    last_checked: str | None = None
    last_verdict: str | None = None
    last_error: str | None = None
    # SCORED, NO_SCORE, UNAVAILABLE (Shodan did not answer: unknown), NOT_ASKED
    last_honeyscore_status: str | None = None
    # Shodan InternetDB's last verdict (ERROR: it could not be asked), and when this tenure first
    # appeared in it (the weekly index's lag behind Shodan's API, measured).
    last_internetdb_verdict: str | None = None
    internetdb_first_indexed: str | None = None
    # Censys's likewise (when the stack has a Censys token; OFF and SKIPPED_BUDGET are not
    # verdicts: the last one Censys gave stays).
    last_censys_verdict: str | None = None
    censys_first_indexed: str | None = None
    rotations: int = 0
    last_rotated_at: str | None = None
    replaced_by: str | None = None
    updated_by: str | None = None
    past_tenures: tuple[TenureRecord, ...] = ()

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> IpHistory:
        """From a table item (plain values, as boto3's TypeDeserializer gives them)."""
        values: dict[str, Any] = {field: item.get(attribute) for field, attribute in ATTRIBUTES.items()}
        values["rotations"] = int(values["rotations"] or 0)
        values["past_tenures"] = tuple(TenureRecord.from_item(t) for t in values["past_tenures"] or ())
        values["arm"] = _arm(values["arm"])
        return cls(**values)

    def to_item(self) -> dict[str, Any]:
        """A table item; absent values are left out (DynamoDB has no use for nulls here)."""
        item = {ATTRIBUTES[k]: v for k, v in asdict(self).items() if v is not None and k != "past_tenures"}
        if self.past_tenures:
            item[ATTRIBUTES["past_tenures"]] = [t.to_item() for t in self.past_tenures]
        return item

    def current_tenure(self) -> TenureRecord | None:
        """The tenure this item is about now (None before any sweep saw the IP: an item only the
        ASL's CountRotation wrote)."""
        if self.task_arn is None and self.first_seen_running is None:
            return None
        rotated = self.last_rotated_at
        if rotated is not None and self.first_seen_running is not None and _before(rotated, self.first_seen_running):
            rotated = None  # a rotation of an earlier tenure
        return TenureRecord(
            task_arn=self.task_arn,
            started=self.first_seen_running,
            first_indexed=self.first_indexed,
            first_fingerprinted=self.first_fingerprinted,
            rotated_at=rotated,
            last_seen=self.last_checked,
            **{field: getattr(self, field) for field in (*EXPERIMENT_ATTRIBUTES, *PERSONA_ATTRIBUTES)},
        )

    def tenures(self) -> list[TenureRecord]:
        """Every tenure the table remembers for this IP, oldest first."""
        current = self.current_tenure()
        return [*self.past_tenures, *([current] if current else [])]

    def start_tenure(
        self,
        task_arn: str | None,
        started: str,
        *,
        arm: Arm | None = None,
        assigned_at: str | None = None,
        template: str | None = None,
        persona: PersonaLabel | None = None,
    ) -> IpHistory:
        """A new task on this IP: the finished tenure is archived; the lifetime fields stay. In
        experiment mode the new tenure comes with its arm, drawn by the caller once, here; a task
        of ours with the persona it serves."""
        return IpHistory(
            ip=self.ip,
            task_arn=task_arn,
            first_seen_running=started,
            rotations=self.rotations,
            last_rotated_at=self.last_rotated_at,
            past_tenures=tuple(self.tenures())[-MAX_PAST_TENURES:],
            arm=arm,
            arm_assigned_at=assigned_at if arm is not None else None,
            template=template,
            persona_id=persona.id if persona else None,
            persona_model=persona.model if persona else None,
        )


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    ip: str
    detail: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "ip": self.ip, **self.detail}


ArmDraw = Callable[[], Arm]
# (task ARN, Conpot template) -> the persona that task serves (persona.tenure_persona, its seed bound).
PersonaNamer = Callable[[str, str], PersonaLabel]


def _new_tenure(
    previous: IpHistory,
    task: str | None,
    started: str,
    *,
    checked_at: str,
    draw: ArmDraw | None,
    template: str | None = None,
    name_persona: PersonaNamer | None = None,
) -> IpHistory:
    """A new tenure, with its arm when the experiment is on and the task is ours (extra IPs have
    none): the one place an arm is drawn, so it is drawn once per tenure. A task of ours whose
    template is known gets its persona."""
    arm = draw() if draw is not None and task is not None else None
    persona = name_persona(task, template) if name_persona is not None and task and template else None
    return previous.start_tenure(task, started, arm=arm, assigned_at=checked_at, template=template, persona=persona)


def record_check(
    previous: IpHistory | None,
    result: Mapping[str, Any],
    *,
    checked_at: str,
    execution: str,
    draw: ArmDraw | None = None,
    name_persona: PersonaNamer | None = None,
) -> tuple[IpHistory, list[Change]]:
    """Fold one sweep result (a verdict, or an error) into the IP's history. ``draw``: the
    experiment is on (a new tenure of ours gets an arm). ``name_persona``: a new tenure of ours
    records the persona of its task (the result's ``template``)."""
    ip = str(result["ip"])
    task = result.get("taskArn")
    if previous is None or previous.task_arn != task:
        # A new tenure: nothing Shodan said about the previous holder is ours. The IP's lifetime
        # rotation count stays (the ASL's CountRotation may have created the item this sweep).
        started = result.get("startedAt") or checked_at
        template = result.get("template")
        previous = _new_tenure(
            previous or IpHistory(ip=ip),
            task,
            started,
            checked_at=checked_at,
            draw=draw,
            template=str(template) if template else None,
            name_persona=name_persona,
        )
    verdict = str(result.get("verdict") or Verdict.ERROR)
    changes: list[Change] = []
    common = {"lastChecked": checked_at, "taskArn": task}
    previous = _fold_opinions(previous, result, checked_at, changes, common)
    if verdict == Verdict.ERROR:
        error = str(result.get("error") or "error")
        if previous.last_error is None:
            changes.append(
                Change(ChangeKind.CHECK_FAILING, ip, {**common, "error": error, "cause": result.get("cause")})
            )
        return replace(previous, last_checked=checked_at, last_error=error, updated_by=execution), changes
    history = replace(
        previous,
        last_checked=checked_at,
        last_verdict=verdict,
        last_error=None,
        last_honeyscore_status=result.get("honeyscoreStatus"),
        updated_by=execution,
    )
    if verdict in EXPOSED_VERDICTS and history.first_indexed is None:
        history = replace(history, first_indexed=checked_at)
        if verdict == Verdict.INDEXED:
            changes.append(Change(ChangeKind.NEWLY_INDEXED, ip, {**common, "verdict": verdict}))
    if verdict == Verdict.FINGERPRINTED and history.first_fingerprinted is None:
        history = replace(history, first_fingerprinted=checked_at)
        changes.append(Change(ChangeKind.NEWLY_FINGERPRINTED, ip, {**common, "verdict": verdict}))
    return history, changes


@dataclass(frozen=True)
class OtherEngine:
    """An engine whose opinion a sweep result may carry beside the check's verdict."""

    key: str  # the result's key (contracts.CheckResult / CheckInMap)
    name: str  # as the email names it
    last_verdict: str  # the IpHistory fields it keeps
    first_indexed: str
    change: ChangeKind
    checks_as: ShodanEngine | None  # when the check itself is this engine's, its news is NEWLY_INDEXED's


OTHER_ENGINES = (
    OtherEngine(
        "internetDb",
        "InternetDB",
        "last_internetdb_verdict",
        "internetdb_first_indexed",
        ChangeKind.NEWLY_IN_INTERNETDB,
        ShodanEngine.INTERNETDB,
    ),
    OtherEngine("censys", "Censys", "last_censys_verdict", "censys_first_indexed", ChangeKind.NEWLY_IN_CENSYS, None),
)


def _fold_opinions(
    history: IpHistory, result: Mapping[str, Any], checked_at: str, changes: list[Change], common: dict[str, Any]
) -> IpHistory:
    """Each other engine's opinion, when the sweep has one for the IP: its last verdict (ERROR: it
    could not be asked; not asked at all, NotAsked, changes nothing), and the first time this
    tenure is in it (its NEWLY_IN_* change, unless that engine made the check itself)."""
    for engine in OTHER_ENGINES:
        said = result.get(engine.key)
        if not isinstance(said, Mapping) or not said.get("verdict") or said["verdict"] in set(NotAsked):
            continue
        verdict = str(said["verdict"])
        last: dict[str, Any] = {engine.last_verdict: verdict}
        history = replace(history, **last)
        if verdict in EXPOSED_VERDICTS and getattr(history, engine.first_indexed) is None:
            first: dict[str, Any] = {engine.first_indexed: checked_at}
            history = replace(history, **first)
            if engine.checks_as is None or result.get("engine") != engine.checks_as:
                detail = {**common, engine.key: verdict, "verdict": result.get("verdict")}
                changes.append(Change(engine.change, str(result["ip"]), detail))
    return history


def record_rotation(
    histories: dict[str, IpHistory],
    chain: Mapping[str, Any],
    *,
    checked_at: str,
    execution: str,
    draw: ArmDraw | None = None,
    name_persona: PersonaNamer | None = None,
) -> Change:
    """Fold one rotation chain (track_rotation's outcome) into the old and new IPs' histories. The
    replacement serves its service's template (``toTemplate``), else the replaced task's."""
    old_ip = str(chain["from"])
    old = histories.get(old_ip) or IpHistory(ip=old_ip, task_arn=chain.get("fromTask"))
    detail = {k: chain.get(k) for k in ("from", "to", "via", "attempts", "reason", "verdict")}
    if chain.get("uncounted"):  # stops CountRotation could not add to the lifetime count
        detail["uncounted"] = chain["uncounted"]
    if chain.get("status") != ChainStatus.ROTATED or not chain.get("to"):
        return Change(ChangeKind.ROTATION_FAILED, old_ip, detail)
    histories[old_ip] = replace(old, replaced_by=chain["to"], updated_by=execution)
    new_ip = str(chain["to"])
    new = histories.get(new_ip) or IpHistory(ip=new_ip)
    if new.task_arn is None or new.task_arn != chain.get("toTask"):
        started = chain.get("toStartedAt") or checked_at
        new = _new_tenure(
            new,
            chain.get("toTask"),
            started,
            checked_at=checked_at,
            draw=draw,
            template=chain.get("toTemplate") or old.template,
            name_persona=name_persona,
        )
    histories[new_ip] = replace(
        new,
        last_checked=checked_at,
        last_verdict=chain.get("toVerdict") if chain.get("toVerdict") != Verdict.ERROR else None,
        updated_by=execution,
    )
    return Change(ChangeKind.ROTATED, old_ip, detail)
