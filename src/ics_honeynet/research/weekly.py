"""The research report, in AWS, on a schedule: the window's report written to the research bucket
and its headline emailed with a short-lived link to the chart.

``publish_report`` reads what the laptop command reads (the tenures from the exposure table, the
window's event objects from the research bucket: stack_data.py), runs the same report, writes
research-report.{png,json,csv} under ``reports/<end of window>/`` of the research bucket (SSE-KMS
by the bucket's default, like every object there), and returns the email: the input summary,
the pooled comparisons' readings, each honeypot's, and a presigned GET link to the chart.

The link. A presigned URL is valid until its ``X-Amz-Expires`` or until the credentials that
signed it expire, whichever comes first (S3 user guide, "Download and upload objects with
presigned URLs": with IAM role credentials "the presigned URL expires when the role session
expires, even if you specify a longer expiration time"). A Lambda function's own credentials
come without their expiry, so a link signed with them could die at any moment before the time
the email promises. The link is therefore signed by a session of a dedicated read-only role
(``REPORT_LINK_ROLE_ARN``: s3:GetObject on ``reports/*`` and the key's Decrypt via S3), assumed
for exactly the link's lifetime: its end is known, and it is what the email says. A role
assumed by a role session is role chaining, limited to one hour (STS AssumeRole,
``DurationSeconds``), hence links of at most an hour (``LINK_SECONDS_MAX``). The object is
SSE-KMS: S3 decrypts it for a presigned GET with the *signer's* permissions (the link's role has
``kms:Decrypt``; whoever opens the link needs no AWS permission), and only a Signature Version 4
URL may read it (boto3 signs s3v4 here); SigV4 caps ``X-Amz-Expires`` at 7 days whatever signs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
from botocore.config import Config

from ics_honeynet.contracts import format_utc
from ics_honeynet.research import stack_data
from ics_honeynet.research.attribution import Unattributed
from ics_honeynet.research.report import Report, run_report, write_outputs
from ics_honeynet.research.stats import Comparison, Scope, Status

REPORTS_PREFIX = "reports/"
LINK_SECONDS_MAX = 3600  # role chaining: a role session assuming another role lasts at most an hour
CONTENT_TYPES = {".png": "image/png", ".json": "application/json", ".csv": "text/csv"}
READINGS_SHOWN = 20  # per-honeypot readings in the email; every one is in the CSV
SUBJECT_MAX = 99  # SNS: "less than 100 characters"


class WeeklyReportError(Exception):
    """The function's configuration is unusable (names the setting)."""


@dataclass(frozen=True)
class WeeklySettings:
    exposure_table: str
    research_bucket: str
    topic_arn: str
    window_days: int
    link_role_arn: str
    link_seconds: int

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> WeeklySettings:
        try:
            settings = cls(
                exposure_table=environ["EXPOSURE_TABLE"],
                research_bucket=environ["RESEARCH_BUCKET"],
                topic_arn=environ["ALERT_TOPIC_ARN"],
                window_days=int(environ.get("REPORT_WINDOW_DAYS", "14")),
                link_role_arn=environ["REPORT_LINK_ROLE_ARN"],
                link_seconds=int(environ.get("REPORT_LINK_SECONDS", str(LINK_SECONDS_MAX))),
            )
        except KeyError as missing:
            raise WeeklyReportError(f"environment variable {missing.args[0]} is not set") from None
        except ValueError as bad:
            raise WeeklyReportError(f"REPORT_WINDOW_DAYS / REPORT_LINK_SECONDS must be whole numbers: {bad}") from None
        if settings.window_days < 1:
            raise WeeklyReportError(f"REPORT_WINDOW_DAYS must be at least 1, not {settings.window_days}")
        if not 900 <= settings.link_seconds <= LINK_SECONDS_MAX:
            raise WeeklyReportError(
                f"REPORT_LINK_SECONDS must be 900-{LINK_SECONDS_MAX} (a chained role session's limits), "
                f"not {settings.link_seconds}"
            )
        return settings


@dataclass(frozen=True)
class Link:
    url: str
    expires: datetime  # the earlier of X-Amz-Expires and the signing session's end


@dataclass(frozen=True)
class Published:
    """What one run wrote, and the email it makes."""

    report: Report
    prefix: str  # reports/<end of window>/
    keys: Mapping[str, str]  # png/json/csv -> S3 key
    link: Link
    subject: str
    message: str


Signer = Callable[[str, int], Link]  # (object key, seconds) -> the link


def link_expiry(url: str, session_end: datetime) -> datetime:
    """When a SigV4 presigned URL stops working: its ``X-Amz-Date`` plus ``X-Amz-Expires``, or
    the end of the session that signed it if that comes first."""
    query = parse_qs(urlparse(url).query)
    try:
        signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        seconds = int(query["X-Amz-Expires"][0])
    except (KeyError, ValueError) as error:
        raise WeeklyReportError(f"not a Signature Version 4 presigned URL ({error})") from None
    return min(signed + timedelta(seconds=seconds), session_end.astimezone(UTC))


def presigner(sts: Any, *, bucket: str, role_arn: str, region: str) -> Signer:
    """Links signed by a session of ``role_arn`` lasting exactly as long as the link (see the
    module's notes): the session's end is known, so the promised expiry holds."""

    def sign(key: str, seconds: int) -> Link:
        session = sts.assume_role(RoleArn=role_arn, RoleSessionName="research-report-link", DurationSeconds=seconds)
        credentials = session["Credentials"]
        signer = boto3.client(
            "s3",
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
        )
        url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=seconds)
        return Link(str(url), link_expiry(str(url), credentials["Expiration"]))

    return sign


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """[since, until): the ``days`` whole hours before ``now`` (the report counts clock hours)."""
    until = now.replace(minute=0, second=0, microsecond=0)
    return until - timedelta(days=days), until


def report_prefix(until: datetime) -> str:
    return f"{REPORTS_PREFIX}{until:%Y-%m-%dT%H%MZ}/"


def _upload(s3: Any, bucket: str, prefix: str, paths: Sequence[Path]) -> dict[str, str]:
    keys = {}
    for path in paths:
        key = prefix + path.name
        with path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CONTENT_TYPES[path.suffix])
        keys[path.suffix.lstrip(".")] = key
    return keys


POOLED_SCOPES = (Scope.POOLED_CONTROLLED, Scope.POOLED, Scope.EXPERIMENT)
UNATTRIBUTED_WHY = {
    Unattributed.OUTSIDE_WINDOW: "outside the window's hours (read from the same day files)",
    Unattributed.UNKNOWN_IP: "to an IP no tenure held",
    Unattributed.OUTSIDE_TENURE: "to a honeypot's IP outside its tenure",
}


def headline(report: Report) -> Comparison | None:
    """The comparison the subject line carries: pooled and controlled at first indexed, else the
    experiment's, else the first estimated one."""
    estimated = [c for c in report.comparisons if c.status is Status.ESTIMATED]
    for scope in (Scope.POOLED_CONTROLLED, Scope.EXPERIMENT):
        for c in estimated:
            if c.scope is scope and (scope is Scope.EXPERIMENT or c.milestone.value == "first_indexed"):
                return c
    return estimated[0] if estimated else None


def subject(report: Report) -> str:
    """One line, ASCII, under SNS's 100 characters: the headline's ratio and interval."""
    lead = headline(report)
    if lead is None or lead.estimate is None:
        text = "ICS honeynet weekly report: no estimate yet"
    else:
        e = lead.estimate
        what = "treatment vs control" if lead.scope is Scope.EXPERIMENT else f"after {lead.milestone.phrase}"
        text = f"ICS honeynet weekly report: {e.ratio:.2g}x attacks {what} (95% CI {e.low:.2g}-{e.high:.2g})"
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:SUBJECT_MAX]


def message(report: Report, *, bucket: str, prefix: str, link: Link, region: str) -> str:
    """The email: what was read, the readings (pooled first), the link and where the rest is."""
    summary = report.input
    unattributed = ", ".join(
        f"{count:,} {UNATTRIBUTED_WHY[reason]}" for reason, count in summary.unattributed.items() if count
    )
    not_counted = f"; not counted: {unattributed}" if unattributed else ""
    lines = [
        f"Research report, {format_utc(report.since)} to {format_utc(report.until)} "
        f"({(report.until - report.since).days} days): does being on Shodan change the attacks?",
        "",
        f"{summary.parsed:,} Conpot events read ({summary.bad:,} bad lines), {summary.attributed:,} attributed to "
        f"{len(report.honeypots)} honeypot tenure(s){not_counted}.",
        "",
    ]
    # Pooled readings first; a pool of no honeypot (no one reached that milestone) says nothing.
    pooled = [c for c in report.comparisons if c.scope in POOLED_SCOPES and c.units > 0]
    rest = [c for c in report.comparisons if c.scope not in POOLED_SCOPES]
    lines += [f"- {c.reading}" for c in pooled]
    lines += [f"- {c.reading}" for c in rest[:READINGS_SHOWN]]
    if len(rest) > READINGS_SHOWN:
        lines.append(f"  ({len(rest) - READINGS_SHOWN} more readings in the CSV)")
    if not pooled and not rest:
        lines.append("- No honeypot was indexed or fingerprinted in the window yet: nothing to compare.")
    lines += [
        "",
        f"The chart (this link works until {link.expires:%Y-%m-%d %H:%M} UTC):",
        link.url,
        "",
        f"The report (PNG, JSON with every number, CSV): s3://{bucket}/{prefix}",
        f"A fresh link: aws s3 presign s3://{bucket}/{prefix}research-report.png --expires-in 3600 --region {region}",
    ]
    return "\n".join(lines)


def publish_report(
    *,
    s3: Any,
    dynamodb: Any,
    settings: WeeklySettings,
    now: datetime,
    sign: Signer,
    region: str,
    workdir: Path | None = None,
) -> Published:
    """Run the window's report, write it to the research bucket, sign the chart's link and
    compose the email (publishing it is the caller's: one SNS call)."""
    since, until = window(now, settings.window_days)
    tenures = stack_data.read_tenures(dynamodb, settings.exposure_table)
    keys = stack_data.event_keys(s3, settings.research_bucket, since=since, until=until)
    lines = stack_data.read_event_lines(s3, settings.research_bucket, keys)
    report = run_report(lines, tenures, since=since, until=until)
    prefix = report_prefix(until)
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        paths = write_outputs(report, folder)
        written = [p for p in (paths.png, paths.json, paths.csv) if p is not None]
        uploaded = _upload(s3, settings.research_bucket, prefix, written)
    link = sign(uploaded["png"], settings.link_seconds)
    body = message(report, bucket=settings.research_bucket, prefix=prefix, link=link, region=region)
    return Published(report, prefix, uploaded, link, subject(report), body)
