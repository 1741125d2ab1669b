"""Lambda adapter: the sweep's Map entries (completed from S3) and rotation outcome in; each IP's
history updated in the exposure table; the sweep record to S3; the email (only if something
changed) out (SummarizeSweep). How each store's failure is survived: sweep_recorder.py."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet.contracts import SummaryInput, SummaryOutput
from ics_honeynet.sweep_recorder import SweepRecorder

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: SummaryInput, context: LambdaContext) -> SummaryOutput:
    recorder = SweepRecorder(
        dynamodb, s3, table=os.environ["EXPOSURE_TABLE"], persona_seed=os.environ.get("PERSONA_SEED", "")
    )
    summary, output = recorder.record(event)
    for name, value in (("IpsChecked", summary.checked), ("IpsExposed", len(summary.exposed)),
                        ("LookupErrors", len(summary.errors)), ("ExposureChanges", len(summary.changes))):  # fmt: skip
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("sweep summarised", extra={"checked": summary.checked, "changes": output["changes"]})
    return output
