"""``make bench``: the sweep's speed, cost and cold start, measured on the real stack locally.

Each sweep row deploys template.yaml into the local cloud with N honeypot tasks (two of them
exposed: one indexed, one fingerprinted; the rest not indexed) and a local Shodan that enforces
R requests/s per key, then runs one sweep in real time (time scale 1: every Retry, every pause
of the client's pacing is real). Figures:

- wall time of the execution next to the floor (the slower engine's: N/R for Shodan's limit, N/1
  for InternetDB's second opinion at its own pace of about 1 request/s) and the target 1.10·floor;
- state transitions, Lambda invocations and Shodan requests per IP, history events per sweep,
  the largest state payload;
- Shodan requests per verdict (a not-indexed IP must cost exactly one); the floor counts the
  requests that put the Shodan alert on a new stack's IPs (the first sweep's; later sweeps: none);
- the cost of a sweep and of a month at the default schedule, from localcloud/prices.py.

Push (``--push-only`` measures just this): Shodan Monitor's detection latency. A stack with two
honeypots, Shodan at 1 request/s, ``RotateOn=indexed``, time scale 1: the scheduled sweep puts
the alert on both IPs, then Shodan indexes one (at T) and pushes its banners to the webhook; the
figures are the times from T to the push sweep's start, to its alert email (``NotifyExposure``)
and to the clean new IP verified (the last ``JudgeReplacements``), against the 12-hour schedule.
Every wait is AWS's (``ReplacementWaitSeconds`` 30); what the local cloud cannot time is said:
Shodan's own delay from its crawl to the notification, and Fargate's start of the replacement
task (AWS: typically under a minute; locally at once), which adds Wait rounds of 30 s.

Cold start and packaging (``--cold-start-only`` measures just these): each handler's import
time in a fresh interpreter (median of several runs) as a ratio to a bare ``import boto3``, how
many of the package's modules it imports; the size of each function's built package
(.aws-sam/build, from ``make build``): the one CodeUri's code and the shared dependencies.

The scheduled research report (``--report-only`` measures just this): its work on a fortnight
of a 5-honeypot honeynet at 10,000 events per honeypot a day, in a fresh interpreter as a
cold start would do it (matplotlib imported, every line parsed and counted, the chart drawn):
the time of each step and the peak memory (max RSS) against the function's MemorySize; and the
function's and its layer's unzipped size against Lambda's 250 MB (built by ``make build``, else
estimated from the installed wheels).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localcloud import prices
from localcloud.cloud import LocalCloud
from localcloud.constants import PROJECT_ROOT
from localcloud.functions import PACKAGE, SOURCE_DIR, function_of

DEFAULT_SIZES = ((10, 1.0), (100, 1.0), (1000, 10.0))
ALERT_PATHS = ("/shodan/alert", "/notifier", "/api-info")  # SyncShodanAlert's requests
SCHEDULE_S = 12 * 3600  # rate(12 hours): the longest a honeypot indexed after a sweep waits for the next
PUSH_GOAL_S = 300  # issue 15: alerted and moved within 5 minutes on AWS
PUSH_INDEXED_AFTER_MINUTES = 0.5  # after the first sweep (its alert set up) has finished
TARGET_FACTOR = 1.10  # a sweep's wall time within 10% of Shodan's floor N/R
SWEEPS_PER_MONTH = 60  # rate(12 hours)
LAMBDA_MEMORY_GB = 0.25


@dataclass
class SweepFigures:
    ips: int
    rate_per_s: float
    status: str
    wall_s: float
    floor_s: float
    target_s: float
    transitions: int
    invocations: int
    shodan_requests: int
    history_events: int
    largest_state_bytes: int
    # Answered Shodan requests per IP, by verdict; requests Shodan refused with 429 are counted apart.
    requests_per_verdict: dict[str, float] = field(default_factory=dict)
    rate_limited: int = 0
    lambda_seconds: float = 0.0
    alert_requests: int = 0  # putting the Shodan alert on the new stack's IPs (answered, not 429)
    internetdb_requests: int = 0  # the second opinion's, at InternetDB's own pace

    @property
    def meets_target(self) -> bool:
        return self.status == "SUCCEEDED" and self.wall_s <= self.target_s

    def per_ip(self, value: float) -> float:
        return value / self.ips if self.ips else 0.0

    def cost_per_sweep(self) -> float:
        return (
            self.transitions * prices.STEP_FUNCTIONS_STANDARD_PER_TRANSITION
            + self.invocations * prices.LAMBDA_PER_REQUEST
            + self.lambda_seconds * LAMBDA_MEMORY_GB * prices.LAMBDA_ARM64_PER_GB_SECOND
            + 4 * prices.S3_PUT_PER_REQUEST  # evidence for the two exposed IPs, the targets, the record
            # Each check reserves its Shodan slot and its InternetDB slot: one or two conditional
            # writes each (on-demand).
            + 4 * self.ips * prices.DYNAMODB_WRITE_PER_REQUEST_UNIT
            + prices.SNS_EMAIL_PER_MESSAGE
            # Each IP's history: one strongly consistent read and one write (items < 1 KB).
            + self.ips * (prices.DYNAMODB_READ_PER_REQUEST_UNIT + prices.DYNAMODB_WRITE_PER_REQUEST_UNIT)
        )


def _scenario(ips: int, rate: float) -> dict[str, Any]:
    exposed = [{"shodan": "indexed", "honeyscore": 0.2}, {"shodan": "fingerprinted"}][: min(2, ips)]
    return {
        "description": f"bench: {ips} honeypots, {len(exposed)} exposed",
        "shodan": {"api_key": "bench-key", "rate_limit_per_s": rate},
        "honeypots": exposed + ["not_indexed"] * (ips - len(exposed)),
    }


def bench_sweep(ips: int, rate: float, progress: Any = None) -> SweepFigures:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(_scenario(ips, rate), handle)
        scenario = Path(handle.name)
    try:
        with LocalCloud(scenario_path=scenario, time_scale=1.0, stack_name=f"bench-{ips}") as cloud:
            cloud.wait_for_running(ips, timeout=max(30.0, ips / 10))
            if progress:
                progress(f"sweep of {ips} IPs at {rate:g} request/s (floor {ips / rate:.0f} s)")
            internetdb_rate = float(os.environ.get("INTERNETDB_REQUESTS_PER_SECOND", "1"))  # the stack's
            run, report = cloud.sweep(timeout=max(ips / rate, ips / internetdb_rate) * 3 + 120)
            requests = cloud.shodan.requests()
            second_opinions = [r for r in cloud.shodan.internetdb_requests() if r.status != 429]
            invocations = list(cloud.runtime.invocations)
    finally:
        scenario.unlink()
    verdict_of = {item["ip"]: item.get("verdict", "?") for item in report.checked}
    by_verdict: dict[str, list[int]] = {}
    for ip, verdict in verdict_of.items():
        by_verdict.setdefault(verdict, []).append(sum(1 for r in requests if r.ip == ip and r.status != 429))
    wall = ((run.stopped or run.started) - run.started).total_seconds()
    alert = sum(1 for r in requests if r.status != 429 and r.path.startswith(ALERT_PATHS))
    # Every answered request of the key, one slot each; InternetDB's at its own pace: the slower one.
    floor = max((ips + alert) / rate, len(second_opinions) / internetdb_rate)
    return SweepFigures(
        ips=ips,
        rate_per_s=rate,
        status=run.status,
        wall_s=round(wall, 2),
        floor_s=round(floor, 2),
        target_s=round(TARGET_FACTOR * floor, 2),
        transitions=sum(1 for e in run.history if e["type"].endswith("StateEntered")),
        invocations=len(invocations),
        shodan_requests=len(requests),
        history_events=len(run.history),
        largest_state_bytes=max(
            (len(e.get("stateExitedEventDetails", {}).get("output", "")) for e in run.history), default=0
        ),
        requests_per_verdict={v: round(statistics.mean(counts), 2) for v, counts in sorted(by_verdict.items())},
        rate_limited=sum(1 for r in requests if r.status == 429),
        lambda_seconds=round(sum(i.duration for i in invocations), 3),
        alert_requests=alert,
        internetdb_requests=len(second_opinions),
    )


@dataclass
class PushFigures:
    """Seconds from T (Shodan indexed the honeypot and pushed its banners) to each milestone."""

    status: str
    pushes: int
    accepted: int  # pushes the webhook answered 202
    push_sweeps: int
    sweep_started_s: float | None
    alert_sent_s: float | None
    clean_ip_s: float | None
    replacement_wait_s: int

    @property
    def meets_goal(self) -> bool:
        return self.status == "SUCCEEDED" and self.clean_ip_s is not None and self.clean_ip_s <= PUSH_GOAL_S


def _exited(history: list[dict[str, Any]], state: str) -> list[Any]:
    return [
        e["timestamp"]
        for e in history
        if e["type"].endswith("StateExited") and e.get("stateExitedEventDetails", {}).get("name") == state
    ]


def bench_push(progress: Any = None) -> PushFigures:
    scenario = {
        "description": "bench: Shodan Monitor's push",
        "shodan": {"api_key": "bench-key", "rate_limit_per_s": 1},
        "honeypots": [
            "not_indexed",
            {"shodan": "indexed", "ports": [102, 502], "indexed_after_minutes": PUSH_INDEXED_AFTER_MINUTES},
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(scenario, handle)
        path = Path(handle.name)
    try:
        with LocalCloud(scenario_path=path, time_scale=1.0, rotate_on="indexed", stack_name="bench-push") as cloud:
            cloud.wait_for_running(2)
            if progress:
                progress("push: the scheduled sweep puts the Shodan alert on the two IPs")
            first, _report = cloud.sweep()
            if progress:
                progress(f"push: Shodan indexes one honeypot {PUSH_INDEXED_AFTER_MINUTES * 60:g} s after it started")
            pushed = cloud.push_sweeps(timeout=600)
            pushes = cloud.shodan.pushes()
            wait = int(cloud.stack.parameters.get("ReplacementWaitSeconds") or 30)
    finally:
        path.unlink()
    status = "SUCCEEDED" if first.succeeded and pushed and all(run.succeeded for run, _ in pushed) else "FAILED"
    figures = PushFigures(
        status, len(pushes), sum(p.status == 202 for p in pushes), len(pushed), None, None, None, wait
    )
    if not pushes or not pushed:
        return figures
    t0 = min(p.sent_at for p in pushes)
    run = pushed[0][0]
    notified, verified = _exited(run.history, "NotifyExposure"), _exited(run.history, "JudgeReplacements")
    figures.sweep_started_s = round((run.started - t0).total_seconds(), 2)
    figures.alert_sent_s = round((notified[0] - t0).total_seconds(), 2) if notified else None
    figures.clean_ip_s = round((verified[-1] - t0).total_seconds(), 2) if verified else None
    return figures


def render_push(push: PushFigures) -> list[str]:
    wait = push.replacement_wait_s
    milestones = sorted(
        [
            (push.sweep_started_s, "the sweep of that IP starts (the webhook answered 202)"),
            (push.clean_ip_s, f"clean new IP verified (one Wait of ReplacementWaitSeconds={wait} s)"),
            (push.alert_sent_s, "alert email sent: one per sweep, after its rotation (without one: after the check)"),
        ],
        key=lambda item: float("inf") if item[0] is None else item[0],
    )
    return [
        "Push (Shodan Monitor -> webhook -> sweep of one IP; time scale 1, Shodan at 1 request/s, RotateOn=indexed)",
        f"  T          Shodan indexes the honeypot and pushes {push.pushes} banner(s); {push.accepted} accepted "
        f"(202), {push.push_sweeps} sweep(s) started",
        *(f"  {'never' if t is None else f'T+{t:.1f} s':<10} {what}" for t, what in milestones),
        f"  goal on AWS: within {PUSH_GOAL_S} s ({'met' if push.meets_goal else 'NOT met'} here); scheduled sweeps "
        f"alone: up to {SCHEDULE_S} s (12 h). Not timed here: Shodan's delay from its crawl to the notification, "
        f"and Fargate's start of the replacement (AWS: usually under a minute, one or two more {wait}-s Wait rounds)",
    ]


def monthly_cost(figures: SweepFigures, honeypots: int = 1, spot: bool = False) -> dict[str, float]:
    fargate_hour = 0.25 * prices.FARGATE_X86_PER_VCPU_HOUR + 0.5 * prices.FARGATE_X86_PER_GB_HOUR
    if spot:
        fargate_hour *= 1 - prices.FARGATE_SPOT_DISCOUNT
    items = {
        "fargate": honeypots * fargate_hour * prices.HOURS_PER_MONTH,
        "public_ipv4": honeypots * prices.PUBLIC_IPV4_PER_HOUR * prices.HOURS_PER_MONTH,
        "kms_key": prices.KMS_KEY_PER_MONTH,
        "logs_0.5GB": 0.5 * prices.CLOUDWATCH_LOGS_PER_GB_INGESTED,
        "sweeps": SWEEPS_PER_MONTH * figures.cost_per_sweep(),
    }
    return {**{k: round(v, 4) for k, v in items.items()}, "total": round(sum(items.values()), 2)}


# ---------------------------------------------------------------------------------------------
# Cold start
# ---------------------------------------------------------------------------------------------
def _import(code: str, cwd: Path, runs: int) -> tuple[float, int]:
    """Median seconds ``code`` takes in a fresh interpreter started in ``cwd`` (Lambda's /var/task:
    the CodeUri), and how many of the package's modules it imported."""
    env = {
        **os.environ,
        "POWERTOOLS_METRICS_NAMESPACE": "bench",
        "POWERTOOLS_SERVICE_NAME": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        # SummarizeSweep builds its recorder at import, from its table's name (as on Lambda).
        "EXPOSURE_TABLE": "bench-exposure",
    }
    probe = (
        f"import sys, time; t = time.perf_counter(); {code}; s = time.perf_counter() - t; "
        f"print(sum(1 for m in sys.modules if m == {PACKAGE!r} or m.startswith({PACKAGE + '.'!r})), s)"
    )
    timings, modules = [], 0
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter, our own code
            [sys.executable, "-c", probe],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        count, seconds = out.stdout.strip().splitlines()[-1].split()
        timings.append(float(seconds))
        modules = int(count)
    return statistics.median(timings), modules


def _size_bytes(folder: Path) -> int | None:
    if not folder.is_dir():
        return None
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _handlers() -> dict[str, str]:
    """Function logical id -> Handler, as template.yaml declares them."""
    from localcloud.sam import load_template

    resources = load_template(PROJECT_ROOT / "template.yaml")["Resources"]
    return {lid: r["Properties"]["Handler"] for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


def _mib(size: int) -> float:
    return round(size / 2**20, 1)


def _mb(size: int | None) -> float | None:
    return round(size / 1e6, 2) if size is not None else None


def cold_start(runs: int = 7) -> dict[str, Any]:
    boto3_s, _ = _import("import boto3", SOURCE_DIR, runs)
    handlers = {}
    for logical_id, handler in _handlers().items():
        module = handler.rpartition(".")[0]
        seconds, modules = _import(f"import {module}", SOURCE_DIR, runs)
        built = PROJECT_ROOT / ".aws-sam" / "build" / logical_id
        size, code = _size_bytes(built), _size_bytes(built / PACKAGE)
        handlers[function_of(handler)] = {
            "import_s": round(seconds, 4),
            "ratio_to_boto3": round(seconds / boto3_s, 2),
            "package_modules": modules,
            "package_mb": _mb(size),
            "code_kb": round(code / 1e3, 1) if code is not None else None,
            "dependencies_mb": _mb(size - code) if size is not None and code is not None else None,
        }
    return {"boto3_import_s": round(boto3_s, 4), "runs": runs, "handlers": handlers}


# ---------------------------------------------------------------------------------------------
# The scheduled research report
# ---------------------------------------------------------------------------------------------
_REPORT_PROBE = """
import json, resource, sys, time
from datetime import datetime
started = time.perf_counter()
from ics_honeynet.research import chart  # matplotlib, as the handler imports it at init
imported = time.perf_counter() - started
from ics_honeynet.research import files
from ics_honeynet.research.model import Tenure
from ics_honeynet.research.report import run_report, write_outputs
root, window = sys.argv[1], json.load(open(sys.argv[2]))
since, until = (datetime.fromisoformat(window[k]) for k in ("since", "until"))
tenures = [Tenure.of(**t) for t in window["tenures"]]
started = time.perf_counter()
report = run_report(files.read_lines(root, since=since, until=until), tenures, since=since, until=until,
                    resolver=lambda ip: None)
counted = time.perf_counter() - started
started = time.perf_counter()
write_outputs(report, root + "/out")
drawn = time.perf_counter() - started
try:  # this process's peak (ru_maxrss would count the parent's peak, kept across exec on Linux)
    peak_kb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
except (OSError, IndexError):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": imported, "report_s": counted, "outputs_s": drawn, "records": report.input.parsed,
                  "max_rss_mb": peak_kb / 1024}))
"""


def report_run(days: int = 14, honeypots: int = 5, per_day: int = 10_000) -> dict[str, Any]:
    """The scheduled report's work on ``days`` of ``honeypots`` honeypots at ``per_day`` records
    each, measured in a fresh interpreter; and the function's unzipped size."""
    from ics_honeynet.contracts import format_utc
    from ics_honeynet.research import scenario
    from localcloud.lambda_imports import LAMBDA_UNZIPPED_LIMIT, unzipped_size
    from localcloud.sam import load_template

    hours = days * 24
    per_hour = per_day / 24 / 2  # sessions: a session is 1-3 records, 2 on average
    plans = [scenario.Plan(0, indexed=hours * (i + 1) / (honeypots + 1), rate=per_hour) for i in range(honeypots)]
    generated = scenario.generate(scenario.Spec(plans=plans, hours=hours, effect_indexed=1.0), seed=1)
    tenures = [
        {"honeypot_ip": t.honeypot_ip, "task_arn": t.task_arn, "started": format_utc(t.started),
         "first_indexed": t.first_indexed and format_utc(t.first_indexed)}
        for t in generated.tenures
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        generated.write_event_files(folder)
        window = Path(folder) / "window.json"
        window.write_text(json.dumps({"since": format_utc(generated.since), "until": format_utc(generated.until),
                                      "tenures": tenures}))  # fmt: skip
        out = subprocess.run(  # noqa: S603 - our own interpreter, our own code
            [sys.executable, "-c", _REPORT_PROBE, folder, str(window)],
            cwd=SOURCE_DIR,
            env={**os.environ, "MPLCONFIGDIR": str(Path(folder) / "matplotlib")},
            capture_output=True,
            text=True,
            check=True,
        )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    function = load_template(PROJECT_ROOT / "template.yaml")["Resources"]["WeeklyReportFunction"]["Properties"]
    built = [PROJECT_ROOT / ".aws-sam" / "build" / name for name in ("WeeklyReportFunction", "ReportChartLayer")]
    if all(folder.is_dir() for folder in built):
        sizes = {"package": _size_bytes(built[0]) or 0, "layer": _size_bytes(built[1]) or 0, "source": "built"}
    else:
        estimate = unzipped_size(SOURCE_DIR, [PROJECT_ROOT / "layers" / "report-chart"])
        sizes = {"package": estimate["package"], "layer": estimate["report-chart"], "source": "estimated"}
    return {
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()},
        "days": days, "honeypots": honeypots, "per_day": per_day,
        "memory_mb": int(function["MemorySize"]), "timeout_s": int(function["Timeout"]),
        "package_mib": _mib(int(sizes["package"])), "layer_mib": _mib(int(sizes["layer"])), "sizes": sizes["source"],
        "limit_mib": _mib(LAMBDA_UNZIPPED_LIMIT),
    }  # fmt: skip


def render_report(figures: dict[str, Any]) -> list[str]:
    total = figures["import_s"] + figures["report_s"] + figures["outputs_s"]
    return [
        f"Scheduled research report ({figures['days']} days x {figures['honeypots']} honeypots x "
        f"{figures['per_day']:,} events/day = {figures['records']:,} records, read from local files; a fresh "
        "interpreter)",
        f"  import matplotlib {figures['import_s']:.2f} s, parse and count {figures['report_s']:.1f} s, PNG+JSON+CSV "
        f"{figures['outputs_s']:.1f} s: {total:.1f} s here of its {figures['timeout_s']} s timeout (Lambda at "
        f"{figures['memory_mb']} MB has ~{figures['memory_mb'] / 1769:.2f} vCPU; S3 reads come on top)",
        f"  peak memory {figures['max_rss_mb']:.0f} MiB of its {figures['memory_mb']} MB",
        f"  unzipped ({figures['sizes']}): function {figures['package_mib']} MiB + layer {figures['layer_mib']} MiB = "
        f"{figures['package_mib'] + figures['layer_mib']:.1f} MiB of Lambda's {figures['limit_mib']:g} MiB",
    ]


# ---------------------------------------------------------------------------------------------
def render(sweeps: list[SweepFigures], cold: dict[str, Any]) -> list[str]:
    lines = (
        []
        if not sweeps
        else [
            "Sweep (real template + ASL in the local cloud, time scale 1)",
            f"{'IPs':>6} {'R/s':>5} {'status':<10} {'wall s':>8} {'floor s':>8} {'target s':>9} {'ok':>3} "
            f"{'trans/IP':>9} {'inv/IP':>7} {'req/IP':>7} {'history':>8} {'max state':>10}",
        ]
    )
    for s in sweeps:
        lines.append(
            f"{s.ips:>6} {s.rate_per_s:>5g} {s.status:<10} {s.wall_s:>8.1f} {s.floor_s:>8.1f} {s.target_s:>9.1f} "
            f"{'yes' if s.meets_target else 'NO':>3} {s.per_ip(s.transitions):>9.2f} {s.per_ip(s.invocations):>7.2f} "
            f"{s.per_ip(s.shodan_requests):>7.2f} {s.history_events:>8} {s.largest_state_bytes:>10}"
        )
    if sweeps:
        lines.append(
            f"targets: wall <= {TARGET_FACTOR:.2f}*floor, floor = the slower engine's: (N + the alert's requests)/R "
            f"for Shodan's API, N/1 for InternetDB's second opinion; one iteration and two lookup invocations "
            f"(Shodan's API, InternetDB) per IP; the first sweep of a stack puts the Shodan alert on its IPs with "
            f"{max(s.alert_requests for s in sweeps)} request(s), later sweeps with none"
        )
        # A failed sweep's figures are partial: quote the largest sweep that succeeded.
        succeeded = [s for s in sweeps if s.status == "SUCCEEDED"] or sweeps
        largest = max(succeeded, key=lambda s: s.ips)
        lines.append(
            f"Shodan requests per IP, by verdict ({largest.ips} IPs): "
            + json.dumps(largest.requests_per_verdict)
            + f"; {largest.rate_limited} refused with 429 and retried"
        )
        month = monthly_cost(largest)
        parts = ", ".join(f"{k} {v}" for k, v in month.items() if k != "total")
        lines.append(
            f"Cost: {largest.ips} IPs cost USD {largest.cost_per_sweep():.5f} per sweep; at rate(12 hours) with "
            f"1 honeypot: USD {month['total']}/month ({parts})"
        )
    lines.append(f"Cold start (median of {cold['runs']} fresh interpreters; import boto3 = {cold['boto3_import_s']} s)")
    for name, figures in cold["handlers"].items():
        size = (
            f"built {figures['package_mb']} MB (ics_honeynet {figures['code_kb']} KB, "
            f"dependencies {figures['dependencies_mb']} MB)"
            if figures["package_mb"] is not None
            else "not built (make build)"
        )
        lines.append(
            f"  {name:<20} import {figures['import_s']:.3f} s = {figures['ratio_to_boto3']:.2f} x boto3, "
            f"{figures['package_modules']} modules of the package; {size}"
        )
    return lines


def _parse_sizes(text: str) -> list[tuple[int, float]]:
    sizes = []
    for part in text.split(","):
        n, _, rate = part.partition("@")
        sizes.append((int(n), float(rate or 1)))
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud bench", description="speed, cost and cold start")
    parser.add_argument(
        "--sizes",
        type=_parse_sizes,
        default=list(DEFAULT_SIZES),
        help="N@R pairs: N IPs with Shodan at R requests/s (default: 10@1,100@1,1000@10)",
    )
    parser.add_argument("--cold-runs", type=int, default=7, help="fresh interpreters per import timing")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--cold-start-only", action="store_true", help="only the cold starts and package sizes (no sweep)"
    )
    parser.add_argument("--push-only", action="store_true", help="only Shodan Monitor's detection latency")
    parser.add_argument(
        "--report-only", action="store_true", help="only the scheduled research report's time, memory and size"
    )
    args = parser.parse_args(argv)
    if args.cold_start_only or args.push_only:
        args.sizes = []
    if args.report_only:
        figures = report_run()
        print(json.dumps(figures, indent=2) if args.json else "\n".join(render_report(figures)))
        return 0 if figures["max_rss_mb"] < figures["memory_mb"] else 1

    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"==> [{time.monotonic() - started:6.1f}s] {message}", file=sys.stderr, flush=True)

    sweeps = []
    for ips, rate in args.sizes:
        progress(f"deploying the stack with {ips} honeypot tasks")
        sweeps.append(bench_sweep(ips, rate, progress))
        progress(f"{ips} IPs: {sweeps[-1].status} in {sweeps[-1].wall_s} s")
    push = None if args.cold_start_only else bench_push(progress)
    if args.push_only:
        assert push is not None
        print(json.dumps(asdict(push) | {"meetsGoal": push.meets_goal}) if args.json else "\n".join(render_push(push)))
        return 0 if push.status == "SUCCEEDED" else 1
    progress("measuring cold starts")
    cold = cold_start(args.cold_runs)
    report = None
    if not args.cold_start_only:
        progress("measuring the scheduled research report")
        report = report_run()
    if args.json:
        document = {
            "sweeps": [
                {
                    **asdict(s),
                    "meetsTarget": s.meets_target,
                    "costPerSweep": s.cost_per_sweep(),
                    "month": monthly_cost(s),
                }
                for s in sweeps
            ],
            "coldStart": cold,
            "push": None if push is None else asdict(push) | {"meetsGoal": push.meets_goal},
            "report": report,
        }
        print(json.dumps(document, indent=2))
    else:
        pushed = render_push(push) if push else []
        print("\n".join([*render(sweeps, cold), *pushed, *(render_report(report) if report else [])]))
    pushed_ok = push is None or push.status == "SUCCEEDED"
    return 0 if pushed_ok and all(s.status == "SUCCEEDED" for s in sweeps) else 1
