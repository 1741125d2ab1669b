"""python -m localcloud: deploy the real stack into the local cloud and run a sweep.

    python -m localcloud run [--scenario FILE] [--tasks N] [--rotate-on never|indexed|fingerprinted]
                             [--time-scale F] [--json]
    python -m localcloud report [--scenario FILE] [--out DIR] [--time-scale F]   (make report)

Progress goes to stderr; the result goes to stdout (text, or one JSON document with --json).
Exit status is 0 when the execution SUCCEEDED, 1 when it did not, 2 on bad arguments or a bad
scenario file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from localcloud import research
from localcloud.cloud import DEFAULT_TIME_SCALE, LocalCloud, SweepRun
from localcloud.constants import DEFAULT_SCENARIO
from localcloud.report import SweepReport, render_timeline, timeline
from localcloud.scenario import ROTATE_ON, Scenario, ScenarioError, load_scenario, scenario_help


def _time_scale(text: str) -> float:
    """--time-scale: a factor on every sleep; 0 or less would turn retries into a busy loop."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0 (e.g. 0.01, or 1 for real time), not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="deploy the stack locally and run one sweep",
        description="Deploy the real stack into the local cloud and run one sweep.",
        epilog=scenario_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        metavar="FILE",
        help="scenario YAML (default: scenarios/default.yaml)",
    )
    run.add_argument(
        "--tasks",
        type=int,
        default=None,
        metavar="N",
        help="honeypot tasks per Conpot template, HoneypotCount (default: the scenario's run.tasks, or its honeypots)",
    )
    run.add_argument(
        "--rotate-on",
        choices=ROTATE_ON,
        default=None,
        help="RotateOn (default: the scenario's, or never)",
    )
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    sub.add_parser("bench", help="speed, cost and cold-start benchmarks (python -m localcloud bench --help)")
    report = sub.add_parser(
        "report",
        help="play a traffic scenario over simulated hours and run the research report on it",
        description="Deploy the stack locally, play a traffic scenario over simulated hours (attacks, Shodan "
        "indexing honeypots, scheduled sweeps) and run the research report against the local stack.",
        epilog=scenario_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    research.add_arguments(report)
    for command in (run, report):
        command.add_argument(
            "--time-scale",
            type=_time_scale,
            default=None,
            metavar="F",
            help=f"factor (above 0) applied to the ASL's Retry/Wait intervals (default: the scenario's, or "
            f"{DEFAULT_TIME_SCALE})",
        )
    return parser


def _profile_label(scenario: Scenario, slot: int) -> str:
    profile = scenario.profile_for_slot(slot)
    return f" ({profile.name}: {profile.kind})" if profile.name else f" ({profile.kind})"


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"==> [{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    if args.tasks is not None and args.tasks < 0:
        print("error: --tasks must be 0 or more", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The scenario says how it is best run; the flags override it.
    rotate_on = args.rotate_on or scenario.rotate_on or "never"
    time_scale = args.time_scale or scenario.time_scale or DEFAULT_TIME_SCALE
    tasks = args.tasks if args.tasks is not None else scenario.tasks
    progress(f"scenario {args.scenario.name}: {scenario.description or '(no description)'}")
    progress(
        f"RotateOn={rotate_on}; Retry/Wait intervals scaled by {time_scale:g} (the ASL keeps AWS-realistic values)"
    )
    with LocalCloud(
        scenario_path=args.scenario, tasks=tasks, rotate_on=rotate_on, time_scale=time_scale,
        parameters=dict(scenario.parameters), progress=progress,
    ) as cloud:  # fmt: skip
        running = cloud.wait_for_running(cloud.desired_count()) if cloud.desired_count() else []
        for task in running:
            label = _profile_label(cloud.scenario, task.slot)
            progress(f"honeypot task {task.task_arn.rsplit('/', 1)[-1][:8]} RUNNING on {task.ip}{label}")
        progress("starting the sweep (as the EventBridge schedule would)")
        sweep, report = cloud.sweep()
        report.running = len(running)
        report.shodan_answers = dict(Counter(r.status for r in cloud.shodan.requests()))
        report.internetdb_answers = dict(Counter(r.status for r in cloud.shodan.internetdb_requests()))
        progress(f"execution {sweep.name} {sweep.status}")
        pushed = _push_sweeps(cloud, progress)
        if args.json:
            document = report.to_json()
            if pushed:
                document["pushSweeps"] = [{"name": run_.name, **done.to_json()} for run_, done in pushed]
            print(json.dumps(document, indent=2, default=str))
        else:
            print(f"Execution {sweep.name}: {sweep.status}")
            print(f"  {sweep.execution_arn}")
            for line in render_timeline(timeline(sweep.history, cloud.stack.definition, sweep.status)):
                print(line)
            if sweep.error:
                print(f"  error: {sweep.error}")
                print(f"  cause: {sweep.cause}")
            print()
            for line in report.render():
                print(line)
            for run_, pushed_report in pushed:
                started_by = f"started by the webhook, input {json.dumps(run_.input)}"
                print(f"\nPush sweep {run_.name} ({started_by}): {run_.status}")
                for line in render_timeline(timeline(run_.history, cloud.stack.definition, run_.status)):
                    print(line)
                print()
                for line in pushed_report.render():
                    print(line)
    return 0 if sweep.succeeded and all(run_.succeeded for run_, _report in pushed) else 1


def _push_sweeps(cloud: LocalCloud, progress: Callable[[str], None]) -> list[tuple[SweepRun, SweepReport]]:
    """A scenario whose honeypots Shodan indexes between sweeps: Shodan Monitor's pushes and the
    sweeps they start (each shown like the scheduled one)."""
    if not any(p.indexed_after_minutes is not None for p in cloud.scenario.honeypots):
        return []
    progress("waiting for Shodan to index honeypots between sweeps (Shodan Monitor pushes to the webhook)")
    pushed = cloud.push_sweeps()
    for push in cloud.shodan.pushes():
        progress(f"Shodan Monitor pushed {push.ip}:{push.port} ({push.trigger}) to the webhook: HTTP {push.status}")
    for run_, _report in pushed:
        progress(f"push sweep {run_.name} {run_.status}")
    return pushed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from localcloud.bench import main as bench

        return bench(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    if args.command == "report":
        return research.main(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
