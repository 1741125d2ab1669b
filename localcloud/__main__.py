"""``python -m localcloud``: deploy the real stack into the local cloud and run a sweep.

    python -m localcloud run [--scenario FILE] [--tasks N] [--rotate-on never|indexed|fingerprinted] [--json]

Progress goes to stderr; the result goes to stdout (text, or one JSON document with --json).
Exit status is 0 when the execution SUCCEEDED, 1 when it did not, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from localcloud.cloud import DEFAULT_SCENARIO, DEFAULT_TIME_SCALE, LocalCloud
from localcloud.report import render_timeline, timeline


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="deploy the stack locally and run one sweep")
    run.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO, help="scenario YAML (default: %(default)s)")
    run.add_argument("--tasks", type=int, default=None, help="honeypot tasks (default: the scenario's slots)")
    run.add_argument(
        "--rotate-on", choices=["never", "indexed", "fingerprinted"], default="never", help="the RotateOn parameter"
    )
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    sub.add_parser("bench", help="speed, cost and cold-start benchmarks (python -m localcloud bench --help)")
    run.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help="factor applied to the ASL's Retry/Wait intervals (default: %(default)s)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"==> [{time.monotonic() - started:5.1f}s] {message}", file=sys.stderr, flush=True)

    if not args.scenario.is_file():
        print(f"error: scenario file not found: {args.scenario}", file=sys.stderr)
        return 2
    if args.tasks is not None and args.tasks < 0:
        print("error: --tasks must be 0 or more", file=sys.stderr)
        return 2
    progress(f"Retry/Wait intervals scaled by {args.time_scale} (the ASL keeps AWS-realistic values)")
    with LocalCloud(
        scenario_path=args.scenario, tasks=args.tasks, rotate_on=args.rotate_on, time_scale=args.time_scale,
        progress=progress,
    ) as cloud:  # fmt: skip
        running = cloud.wait_for_running(cloud.desired_count()) if cloud.desired_count() else []
        for task in running:
            progress(f"honeypot task {task.task_arn.rsplit('/', 1)[-1][:8]} RUNNING on {task.ip}")
        progress("starting the sweep (as the EventBridge schedule would)")
        sweep, report = cloud.sweep()
        progress(f"execution {sweep.name} {sweep.status}")
        if args.json:
            print(json.dumps(report.to_json(), indent=2, default=str))
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
    return 0 if sweep.succeeded else 1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from localcloud.bench import main as bench

        return bench(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "run":
        return run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
