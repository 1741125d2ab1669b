"""``python -m ics_honeynet report``: the research report of a deployed stack, on a laptop.

    python -m ics_honeynet report --stack NAME [--region R] [--since 2026-11-01|14d] [--until ...]
                                  [--events-dir DIR] [--out DIR] [--metric sessions] [--no-chart]

Reads the tenures from the stack's exposure table and Conpot's events from its research bucket
(or from ``--events-dir``, a synced copy of the bucket), with the user's credentials; writes
research-report.{png,json,csv} to ``--out`` and prints each comparison's plain reading.
Exit status: 0 on a report, 2 when it could not start (credentials, region, stack, arguments).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from ics_honeynet.contracts import format_utc, parse_utc
from ics_honeynet.doctor import DoctorError, MissingOutput, aws_session, describe_stack
from ics_honeynet.research import files, stack_data
from ics_honeynet.research.model import Progress
from ics_honeynet.research.report import run_report, write_outputs
from ics_honeynet.research.stats import Metric

EXPOSURE_TABLE_OUTPUT, RESEARCH_BUCKET_OUTPUT = "ExposureTableName", "ResearchDataBucketName"
DEFAULT_DAYS = 14
_AGO = re.compile(r"^(\d+)([dh])$")


class ReportError(Exception):
    """The report cannot start: exit status 2, with what to do."""


def moment(text: str, *, now: datetime) -> datetime:
    """An ISO 8601 time or date (UTC if no zone), or a span back from now: ``14d``, ``36h``."""
    ago = _AGO.match(text.strip())
    if ago:
        amount = int(ago[1])
        return now - (timedelta(days=amount) if ago[2] == "d" else timedelta(hours=amount))
    try:
        return parse_utc(text.strip())
    except ValueError:
        raise ReportError(f"not a time: {text!r} (use 2026-11-01, 2026-11-01T06:00:00Z, 14d or 36h)") from None


class ProgressBar:
    """One line on stderr, redrawn in place on a terminal; a line per stage and per 10% otherwise."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.live = stream, stream.isatty()
        self._last: tuple[str, int] | None = None

    def __call__(self, progress: Progress) -> None:
        total = progress.total or 0
        share = progress.done / total if total else 0.0
        tenth = int(share * 10)
        if not self.live and self._last == (progress.stage, tenth):
            return
        self._last = (progress.stage, tenth)
        filled = int(share * self.WIDTH) if total else 0
        count = f"{progress.done:,}/{total:,}" if total else f"{progress.done:,}"
        line = f"  {progress.stage:<10} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {count}"
        self.stream.write(("\r" + line) if self.live else line + "\n")
        if self.live and total and progress.done >= total:
            self.stream.write("\n")
        self.stream.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="the deployed stack's name (sam deploy --stack-name)")
    parser.add_argument("--region", help="its region (default: your AWS configuration's)")
    parser.add_argument(
        "--since", default=f"{DEFAULT_DAYS}d", help=f"start: ISO time/date or 14d, 36h (default {DEFAULT_DAYS}d)"
    )
    parser.add_argument("--until", help="end: ISO time/date or a span back (default: now)")
    parser.add_argument("--events-dir", help="read events from this synced copy of the research bucket instead of S3")
    parser.add_argument(
        "--out", default="research-report", help="folder for the PNG, JSON and CSV (default ./research-report)"
    )
    parser.add_argument("--metric", choices=[m.value for m in Metric], default=Metric.SESSIONS.value,
                        help="what is counted per hour (default: sessions, i.e. attacks)")  # fmt: skip
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG (no matplotlib needed)")


def run(args: argparse.Namespace, *, now: datetime | None = None, stderr: TextIO = sys.stderr) -> int:
    now = now or datetime.now(UTC)
    try:
        since, until = moment(args.since, now=now), moment(args.until, now=now) if args.until else now
        if not since < until:
            raise ReportError(f"--since ({format_utc(since)}) must be before --until ({format_utc(until)})")
        session = aws_session(args.region)
        stack = describe_stack(session, args.stack)
        tenures = stack_data.read_tenures(session.client("dynamodb"), stack.output(EXPOSURE_TABLE_OUTPUT))
        bar = ProgressBar(stderr)
        if args.events_dir:
            lines = files.read_lines(args.events_dir, since=since, until=until, progress=bar)
        else:
            s3, bucket = session.client("s3"), stack.output(RESEARCH_BUCKET_OUTPUT)
            keys = stack_data.event_keys(s3, bucket, since=since, until=until)
            stderr.write(f"reading {len(keys):,} event file(s) from s3://{bucket} for {len(tenures)} tenure(s)\n")
            lines = stack_data.read_event_lines(s3, bucket, keys, progress=bar)
        report = run_report(lines, tenures, since=since, until=until, progress=bar, metric=Metric(args.metric))
        paths = write_outputs(report, args.out, chart=not args.no_chart)
    except (ReportError, DoctorError) as error:
        return _refuse(str(error), stderr)
    except MissingOutput as missing:
        return _refuse(f"stack {args.stack} has no output {missing.key}: deploy this version of the template", stderr)
    except (NoCredentialsError, NoRegionError) as error:
        return _refuse(f"no usable AWS credentials or region ({error}): aws configure, or aws sso login", stderr)
    except (ClientError, BotoCoreError) as error:
        return _refuse(f"AWS refused a read the report needs: {error}", stderr)
    summary = report.input
    print(f"{summary.parsed:,} events read ({summary.bad:,} bad lines), {summary.attributed:,} attributed "
          f"to {len(report.honeypots)} tenure(s), {format_utc(since)} to {format_utc(until)}")  # fmt: skip
    for comparison in report.comparisons:
        print(f"- {comparison.reading}")
    if report.fingerprinting is not None:
        print(f"- {report.fingerprinting.reading}")
    print("written: " + ", ".join(str(p) for p in (paths.png, paths.json, paths.csv) if p is not None))
    return 0


def _refuse(message: str, stderr: TextIO) -> int:
    stderr.write(f"error: {message}\n")
    return 2
