"""What crosses a boundary of the sweep, defined once: between the state machine's states (the
functions' events and replies, the Map's items and entries), in the S3 objects, in the email.

Enums are ``StrEnum``: a member *is* its string, so it goes into JSON, DynamoDB and the state
machine as the plain value the ASL's Choice states compare (``"INDEXED"``, ``"never"``,
``"stop"``), and a value read back compares equal to its member. The shapes are ``TypedDict``s
(JSON objects as the state machine passes them); keys are camelCase because that is what the
ASL and the stored records use. tests/unit/test_contracts.py checks the ASL's literals and S3 keys
against this module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NotRequired, TypedDict


# -- enums ---------------------------------------------------------------------------------------
class Verdict(StrEnum):
    """One IP's answer. The lookup gives the first three; ``ERROR`` is what the state machine
    records (``RecordCheckError``) for an IP whose check failed after its retries."""

    NOT_INDEXED = "NOT_INDEXED"  # Shodan's 404, or every banner it holds predates our task
    INDEXED = "INDEXED"  # Shodan holds banners of ours
    FINGERPRINTED = "FINGERPRINTED"  # ...tagged honeypot, or a honeyscore at/above the threshold
    ERROR = "ERROR"


EXPOSED_VERDICTS = frozenset({Verdict.INDEXED, Verdict.FINGERPRINTED})


class NotAsked(StrEnum):
    """A second engine's verdict when it was, by design, not asked about the IP (Censys's)."""

    OFF = "OFF"  # the engine is not configured (no CensysTokenParameter)
    SKIPPED_BUDGET = "SKIPPED_BUDGET"  # this month's lookups (CensysMonthlyLookups) are spent
    PENDING = "PENDING"  # the state machine's mark before it asks (AskCensys replaces it)


class RotateOn(StrEnum):
    """The stack's ``RotateOn`` parameter: which verdict moves a honeypot to a fresh IP."""

    NEVER = "never"
    INDEXED = "indexed"
    FINGERPRINTED = "fingerprinted"


class ExperimentMode(StrEnum):
    """The stack's ``ExperimentMode`` parameter: whether fresh honeypots are randomised into arms
    and the treatment arm's IPs are submitted to Shodan for scanning (see experiment.py)."""

    OFF = "off"
    ON = "on"


class ShodanEngine(StrEnum):
    """The stack's ``ShodanEngine`` parameter, and the engine a check's verdict comes from
    (``engine`` of a CheckResult). ``api``: Shodan's API with the stack's key (host lookup,
    honeyscore), Shodan InternetDB asked as a second opinion. ``internetdb``: no key, Shodan
    InternetDB alone (weekly data, no banner dates, no honeyscore, no Monitor push)."""

    API = "api"
    INTERNETDB = "internetdb"


class Arm(StrEnum):
    """A tenure's arm in the experiment, drawn once when the tenure starts (experiment.draw_arm)."""

    TREATMENT = "treatment"  # an on-demand Shodan scan is requested for the IP
    CONTROL = "control"  # left alone


class HoneyscoreStatus(StrEnum):
    SCORED = "SCORED"
    NO_SCORE = "NO_SCORE"  # Shodan answered that it has no score (for the IP, or the plan)
    UNAVAILABLE = "UNAVAILABLE"  # Shodan could not be asked (429, 5xx, timeout, after retries): unknown
    NOT_ASKED = "NOT_ASKED"  # no banner of ours: not worth a request


class TagSource(StrEnum):
    """Where a check's tags were read: each banner's own, or (no banner tagged) the host's."""

    BANNERS = "banners"
    HOST = "host"


HONEYPOT_TAG = "honeypot"  # Shodan's tag for a honeypot it recognised (compared in lower case)


class ChangeKind(StrEnum):
    """What makes a sweep email (see exposure_history); declared in the email's order."""

    NEWLY_FINGERPRINTED = "NEWLY_FINGERPRINTED"
    NEWLY_INDEXED = "NEWLY_INDEXED"
    NEWLY_IN_INTERNETDB = "NEWLY_IN_INTERNETDB"  # the second opinion: InternetDB lists the IP (weekly, keyless)
    NEWLY_IN_CENSYS = "NEWLY_IN_CENSYS"  # the second index: Censys lists the IP (optional token)
    ROTATED = "ROTATED"
    ROTATION_FAILED = "ROTATION_FAILED"
    CHECK_FAILING = "CHECK_FAILING"


class RotationAction(StrEnum):
    """What the state machine asks the rotation tracker (``action`` of its event)."""

    PLAN = "plan"
    OBSERVE = "observe"
    JUDGE = "judge"


class RotationStep(StrEnum):
    """What the state machine does next in a rotation (``next``; the ASL's RotationNext Choice)."""

    STOP = "stop"
    WAIT = "wait"
    CHECK = "check"
    DONE = "done"


class ChainStatus(StrEnum):
    """Where one exposed honeypot's rotation stands."""

    STOPPING = "STOPPING"
    WAITING = "WAITING"
    CHECKING = "CHECKING"
    ROTATED = "ROTATED"
    FAILED = "FAILED"


# -- S3 keys (the ASL builds the same ones with States.Format) -----------------------------------
def targets_key(execution: str) -> str:
    """Every target and skipped task of a sweep (written by ListHoneypotIps)."""
    return f"targets/{execution}.json"


def evidence_key(ip: str, execution: str) -> str:
    """An exposed (or recycled) IP's check (the ASL's StoreEvidence)."""
    return f"evidence/{ip}/{execution}.json"


def error_key(ip: str, execution: str) -> str:
    """A failed check's error and cause (the ASL's StoreCheckError)."""
    return f"errors/{ip}/{execution}.json"


def sweep_record_key(execution: str) -> str:
    """The sweep's record: every IP's verdict or error (written by SummarizeSweep)."""
    return f"sweeps/{execution}.json"


# -- time ----------------------------------------------------------------------------------------
def parse_utc(text: str) -> datetime:
    """ISO 8601 to an aware UTC datetime. Shodan's timestamps have no zone (they are UTC); ECS's
    and Step Functions' have one (``Z`` included). ValueError if ``text`` is not such a time."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # a zone offset pushing the time out of datetime's range
        raise ValueError(f"timestamp out of range: {text[:40]!r}") from None


def format_utc(moment: datetime) -> str:
    """The one way a time is written: ISO 8601 in UTC (``2026-11-25T01:00:00+00:00``); a naive
    datetime is taken as UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(UTC).isoformat()


def utc_now() -> str:
    return format_utc(datetime.now(UTC))


# -- list_honeypot_ips -> the state machine ------------------------------------------------------
class SweepTarget(TypedDict):
    """One Map item, the input of one IP's check (and of ShodanLookup). Null task fields: an
    extra IP outside the stack (every banner counts, never rotated)."""

    ip: str
    taskArn: str | None
    startedAt: str | None


class ListedIp(SweepTarget):
    """A honeypot IP as listed (the targets document, a rotation's replacements). ``template``: the
    Conpot template its task serves, ``service``: the ECS service that runs it; both absent for
    extra IPs."""

    eni: str | None
    template: NotRequired[str]
    service: NotRequired[str]


class PersonaTag(TypedDict):
    """The persona a task served, as the sweep records it (persona.PersonaLabel)."""

    id: str
    model: str


class SkippedTask(TypedDict):
    taskArn: str
    reason: str


class TargetsDocument(TypedDict):
    """``targets/<execution>.json``."""

    targets: list[ListedIp]
    skipped: list[SkippedTask]


class HoneypotListing(TypedDict):
    """ListHoneypotIps' reply to ListReplacements (``startedAfter``)."""

    cluster: str
    service: str
    ips: list[ListedIp]
    skipped: list[SkippedTask]


class MonitoredIps(TypedDict):
    """ListHoneypotIps' reply to ListMonitoredIps (``ipsOnly``): every honeypot IP now, nothing
    else (the Shodan alert's IPs; 1,000 full listings would weigh ~240 KB of a state's 256 KB)."""

    ips: list[str]


class SweepListing(TypedDict):
    """ListHoneypotIps' reply to a sweep: the Map's items, and where every target is."""

    cluster: str
    service: str
    count: int
    targetsKey: str
    targets: list[SweepTarget]
    skippedCount: int
    skipped: list[SkippedTask]  # the first few; all of them are in the targets document


# -- ShodanLookup -> the Map iteration, the evidence object ---------------------------------------
class PriorOwner(TypedDict):
    banners: int
    ports: list[int]
    tags: list[str]
    lastSeen: str | None


class EngineOpinion(TypedDict):
    """One engine's verdict on one IP, beside the check's own: Shodan InternetDB's second opinion
    (the ASL's AskInternetDb), Censys's (AskCensys; or why it was not asked). ``ERROR`` and the
    error's name when it could not be asked, which never changes the check's verdict."""

    verdict: Verdict | NotAsked
    ports: NotRequired[list[int]]
    tags: NotRequired[list[str]]
    protocols: NotRequired[list[str]]  # Censys's service names (e.g. MODBUS)
    error: NotRequired[str]


class CheckResult(TypedDict):
    """One IP's check: the lookup's reply, the state the Map iteration shows, and the evidence
    object the state machine stores (``evidence_key``) when Shodan has the IP. ``ip`` and
    ``verdict`` come first: the console shows them at a glance. ``engine`` says whose verdict it
    is; ``internetDb`` is InternetDB's opinion: null in Shodan's API reply (the state machine
    asks InternetDB next and puts it there), InternetDB's own when it is the engine."""

    ip: str
    verdict: Verdict  # NOT_INDEXED / INDEXED / FINGERPRINTED
    found: bool
    taskArn: str | None
    startedAt: str | None
    checkedAt: str
    ports: list[int]
    tags: list[str]
    tagSource: TagSource | None
    honeyscore: float | None
    honeyscoreStatus: HoneyscoreStatus
    honeyscoreError: str | None
    lastUpdate: str | None
    org: str | None
    priorOwner: PriorOwner | None
    host: dict[str, Any] | None  # a bounded excerpt of Shodan's host document (or InternetDB's)
    engine: ShodanEngine
    internetDb: EngineOpinion | None


class CheckInMap(CheckResult):
    """The check as the Map iteration holds it after the state machine's additions, and as
    StoreEvidence files it: where it goes, and Censys's opinion (AskCensys's; or OFF, or why it
    was not asked)."""

    evidenceKey: str
    censys: EngineOpinion


class MapEntry(TypedDict):
    """What one iteration of the sweep's Map returns: the verdict, and where the rest is."""

    ip: str
    verdict: Verdict
    internetDb: NotRequired[Verdict]  # InternetDB's verdict only (the evidence holds its whole opinion)
    censys: NotRequired[Verdict | NotAsked]  # Censys's verdict only, likewise
    taskArn: NotRequired[str | None]
    evidenceKey: NotRequired[str]
    evidenceStored: NotRequired[bool]  # False: the whole check is in the entry (S3 refused it)
    evidenceError: NotRequired[dict[str, str]]
    error: NotRequired[str]
    errorKey: NotRequired[str]
    errorStored: NotRequired[bool]


class StepFunctionsFailure(TypedDict):
    """A Catch's ``ResultPath`` content: the error's name and its cause (JSON for a Lambda's)."""

    Error: str
    Cause: NotRequired[str]


# -- the rotation (TrackRotation <-> the state machine) -------------------------------------------
# The key "from" is a Python keyword: these two are declared in TypedDict's functional form.
RotationOutcome = TypedDict(
    "RotationOutcome",
    {
        "from": str,
        "fromTask": str,
        "verdict": str | None,
        "to": str | None,
        "toTask": str | None,
        "toStartedAt": str | None,
        "toVerdict": str | None,
        "toTemplate": NotRequired[str],  # the Conpot template the replacement's service serves
        "service": NotRequired[str],  # the ECS service it rotated in (its replacements are that service's)
        "uncounted": NotRequired[int],  # stops the IP's lifetime rotation count missed (CountRotation refused)
        "via": list[str],
        "attempts": int,
        "status": ChainStatus,
        "reason": str | None,
    },
)
"""One exposed honeypot's rotation as the sweep reports it: old IP -> final IP."""


class ChainOrigin(TypedDict):
    """Where a rotation chain starts: the exposed honeypot's IP, task and verdict."""

    ip: str
    taskArn: str
    verdict: str | None


class RotationHop(TypedDict):
    """One replacement a chain went through: its IP and task, then what Shodan said of it."""

    ip: str
    taskArn: str
    startedAt: str | None
    template: NotRequired[str]  # the Conpot template its service serves (ListReplacements)
    verdict: NotRequired[Verdict]
    error: NotRequired[str]  # the lookup failed: the IP is kept, not verified
    priorOwner: NotRequired[Verdict]  # what Shodan shows of the IP's previous holder
    dirty: NotRequired[str]  # why this IP was rotated away from, e.g. "FINGERPRINTED by a prior owner"


RotationChain = TypedDict(
    "RotationChain",
    {
        "from": ChainOrigin,
        "hops": list[RotationHop],
        "status": ChainStatus,
        "reason": NotRequired[str],
        "service": NotRequired[str],
        "uncounted": NotRequired[int],
    },
)
"""One exposed honeypot's way to a clean IP: its origin, the replacements so far, its status,
and the ECS service whose replacements it takes (from the stopped task's group)."""


class StopResult(TypedDict):
    """What the ASL's StopExposedTasks reports for one stop order. ``group``: the stopped task's
    ECS group, ``service:<name>`` for a service's task (ecs:StopTask's Task.Group)."""

    taskArn: str
    ip: str
    stopped: bool
    group: NotRequired[str | None]
    error: NotRequired[str]
    countError: NotRequired[str]  # stopped, but the exposure table did not count the rotation


class ReplacementLookup(TypedDict):
    """A replacement IP's Shodan check as the ASL's CheckReplacementIps keeps it (or its error)."""

    ip: str
    verdict: Verdict
    priorOwner: NotRequired[PriorOwner | None]
    error: NotRequired[str]


class StopOrder(TypedDict):
    """One task the state machine stops (``ecs:stopTask``), and why."""

    taskArn: str
    ip: str
    reason: str


class RotationState(TypedDict):
    """The rotation's whole state, in the execution (``$.rotation.state``): TrackRotation's reply,
    handed back to it with what the state machine observed (``stopResults``, ``observed``,
    ``lookups``)."""

    execution: str
    rotateOn: RotateOn
    maxAttempts: int
    replacementChecks: int
    replacementWaitSeconds: int
    chains: list[RotationChain]
    notReplacements: list[str]
    toStop: list[StopOrder]
    toCheck: list[SweepTarget]
    next: RotationStep
    ifAborted: list[RotationOutcome]
    roundStartedAt: NotRequired[str]
    checksLeft: NotRequired[int]
    outcome: NotRequired[list[RotationOutcome]]
    stopResults: NotRequired[list[StopResult]]
    observed: NotRequired[list[ListedIp] | HoneypotListing]
    lookups: NotRequired[list[ReplacementLookup]]


class SweepRotation(TypedDict, total=False):
    """``$.rotation.state`` as SummarizeSweep receives it: a finished rotation's state, the
    initial ``{"next": "done", "outcome": []}`` when none ran, or RotationAborted's."""

    outcome: list[RotationOutcome]
    aborted: StepFunctionsFailure


# -- SummarizeSweep -------------------------------------------------------------------------------
class SummaryInput(TypedDict):
    """SummarizeSweep's event (the ASL's SummarizeSweep state)."""

    execution: str
    sweepStartedAt: NotRequired[str]
    rotateOn: RotateOn
    experimentMode: NotRequired[ExperimentMode]
    shodanEngine: NotRequired[ShodanEngine]
    evidenceBucket: str
    recordKey: str
    rotation: NotRequired[SweepRotation]
    targetsKey: str
    checks: list[MapEntry]
    shodanAlert: NotRequired[AlertSync]  # what SyncShodanAlert did (or AlertNotSynced)


class SummaryOutput(TypedDict):
    """SummarizeSweep's reply: whether to email (AnythingToReport) and what; the record's fate."""

    notify: bool
    recordKey: str
    subject: str
    message: str
    checked: int
    exposedCount: int
    fingerprintedCount: int
    errorCount: int
    skippedCount: int
    changes: dict[str, int]  # ChangeKind -> count
    scans: list[ScanTarget]  # the ASL's RequestScans items (experiment mode)
    recordStored: NotRequired[bool]
    recordError: NotRequired[str]


# -- the experiment's scan requests (SummarizeSweep -> RequestScans -> RequestShodanScan) ----------
class ScanTarget(TypedDict):
    """A treatment tenure whose scan is still to be requested: one item of the ASL's RequestScans.
    ``taskArn`` is the tenure: the claim (a conditional write) holds only while it is the IP's."""

    ip: str
    taskArn: str


class ScanOutcome(StrEnum):
    """How one RequestScans iteration ended (its ``scan``, in the execution's history)."""

    REQUESTED = "REQUESTED"  # Shodan accepted the scan: its id is on the tenure
    FAILED = "FAILED"  # claimed, the request failed: the error is on the tenure
    ALREADY_CLAIMED = "ALREADY_CLAIMED"  # claimed before (a retry, a re-run): no request
    NOT_REQUESTED = "NOT_REQUESTED"  # the claim could not be written: no request, listed again next sweep


class ScanReceipt(TypedDict):
    """RequestShodanScan's reply: Shodan's answer to ``POST /shodan/scan`` for one IP."""

    ip: str
    scanId: str
    count: int  # IPs Shodan will crawl (1)
    creditsLeft: int | None


# -- Shodan Monitor's push (the webhook -> a targeted sweep; the alert kept in sync) --------------
class SweepInput(TypedDict):
    """The state machine's input (``$$.Execution.Input``): EventBridge's scheduled event for a
    sweep of every honeypot, or the webhook's ``{"targetIp": ...}`` for a sweep of one IP (its
    ListHoneypotIps lists only that IP's task). Only ``targetIp`` is read; the rest is ignored."""

    targetIp: NotRequired[str]


class PushOutcome(StrEnum):
    """What the webhook did with one request (its HTTP answer, its log line and metric)."""

    SWEEP_STARTED = "SWEEP_STARTED"  # 202: a targeted sweep of the notified IP
    FULL_SWEEP_STARTED = "FULL_SWEEP_STARTED"  # 202: over the cap of targeted sweeps, one sweep of every IP
    ALREADY_SWEEPING = "ALREADY_SWEEPING"  # 202: this IP's sweep (or the full one) already started this window
    NOT_OURS = "NOT_OURS"  # 202: signed, but not an IP the alert monitors for us (a rotated-away IP)
    STALE = "STALE"  # 202: the banner is older than the replay window (or from the future)
    REPLAYED = "REPLAYED"  # 200: this exact notification was received before
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"  # 405: only POST
    TOO_LARGE = "TOO_LARGE"  # 413: body over MAX_NOTIFICATION_BYTES, never read further
    UNSIGNED = "UNSIGNED"  # 401: no SHODAN-SIGNATURE-SHA1 header
    BAD_SIGNATURE = "BAD_SIGNATURE"  # 403: the signature does not match the body and our key
    MALFORMED = "MALFORMED"  # 400: signed, but not a banner (not JSON, no IP, no timestamp)
    UNAVAILABLE = "UNAVAILABLE"  # 503: the key, the push table or Step Functions did not answer


class PushReply(TypedDict):
    """The webhook's JSON answer: never the body, the signature or the key."""

    outcome: PushOutcome
    detail: str
    execution: NotRequired[str]  # the sweep started (or already running)


class AlertSyncStatus(StrEnum):
    """What SyncShodanAlert did to the Shodan alert (the ASL's AlertNotSynced writes NOT_SYNCED)."""

    CREATED = "CREATED"  # a new alert (and, if needed, the webhook notifier)
    UPDATED = "UPDATED"  # the alert's IPs (or its triggers, its notifier) brought up to date
    UNCHANGED = "UNCHANGED"  # already the honeynet's IPs: no Shodan request
    DELETED = "DELETED"  # no honeypot IP left: the alert removed (the next sweep with IPs re-creates it)
    NOT_SYNCED = "NOT_SYNCED"  # failed after retries: the sweep goes on, the next sweep tries again
    OFF = "OFF"  # ShodanEngine=internetdb: no key, no Shodan Monitor alert (the ASL's ShodanMonitorOff)


class AlertSync(TypedDict):
    """SyncShodanAlert's reply, in the sweep record (``shodanAlert``) and, when the plan's
    monitored-IP limit leaves IPs unwatched, in the email."""

    status: AlertSyncStatus
    alertId: NotRequired[str | None]
    monitored: NotRequired[int]
    unmonitored: NotRequired[list[str]]  # over the plan's limit: found by the scheduled sweep only
    unmonitoredChanged: NotRequired[bool]  # the unwatched IPs differ from the last sync's: email it
    limit: NotRequired[int | None]  # the plan's monitored IPs (``api-info`` usage_limits.monitored_ips)
    error: NotRequired[str]
