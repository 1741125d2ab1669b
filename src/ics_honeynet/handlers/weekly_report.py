"""Lambda adapter: the research report on a schedule (WeeklyReport, started by EventBridge).

Reads the exposure table and the window's events from the research bucket, writes the report
(PNG, JSON, CSV) under ``reports/`` of the bucket, and emails its headline with a short-lived
link to the chart through the alert topic (research/weekly.py). The chart needs matplotlib, which
only this function has (its layer): the chart module is imported here, at init, so a function
deployed without the layer fails its cold start instead of after reading a fortnight of events.
The link is never logged (its signature grants a read of the chart).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet.research import chart  # noqa: F401 - matplotlib at init (see above)
from ics_honeynet.research.weekly import WeeklySettings, presigner, publish_report

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
s3, dynamodb, sns, sts = boto3.client("s3"), boto3.client("dynamodb"), boto3.client("sns"), boto3.client("sts")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = WeeklySettings.from_environment(os.environ)
    region = str(sts.meta.region_name)
    sign = presigner(sts, bucket=settings.research_bucket, role_arn=settings.link_role_arn, region=region)
    published = publish_report(
        s3=s3, dynamodb=dynamodb, settings=settings, now=datetime.now(UTC), sign=sign, region=region
    )
    sns.publish(TopicArn=settings.topic_arn, Subject=published.subject, Message=published.message)
    summary = published.report.input
    metrics.add_metric(name="ReportEventsRead", unit=MetricUnit.Count, value=summary.parsed)
    metrics.add_metric(name="ReportBadLines", unit=MetricUnit.Count, value=summary.bad)
    logger.info(
        "research report published",
        extra={"prefix": published.prefix, "events": summary.parsed, "tenures": len(published.report.honeypots),
               "linkExpires": published.link.expires.isoformat()},
    )  # fmt: skip
    return {
        "reportPrefix": published.prefix,
        "keys": dict(published.keys),
        "events": summary.parsed,
        "comparisons": len(published.report.comparisons),
        "linkExpires": published.link.expires.isoformat(),
    }
