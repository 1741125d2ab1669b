"""Lambda adapter: the sweep's Map entries (completed from S3) and rotation outcome in; each IP's
history updated in the exposure table; the sweep record to S3; the email (only if something
changed) out (SummarizeSweep)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.contracts import RotateOn, SummaryInput, SummaryOutput, sweep_record_key, utc_now
from ics_honeynet.history_store import HistoryNotSaved, read_histories, write_histories
from ics_honeynet.sweep_report import describe_failure, summarize
from ics_honeynet.sweep_results import gather_results

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
STORE_ERRORS = (ClientError, BotoCoreError, HistoryNotSaved)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: SummaryInput, context: LambdaContext) -> SummaryOutput:
    table, bucket, execution = os.environ["EXPOSURE_TABLE"], event["evidenceBucket"], event.get("execution", "manual")

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    # Every target, from the document ListHoneypotIps wrote: without it (an error here fails the
    # sweep, loudly) nothing can be accounted for.
    targets = read(event["targetsKey"])
    results = gather_results(targets["targets"], list(event.get("checks") or []), read)
    rotation_state = event.get("rotation") or {}
    rotation = rotation_state.get("outcome") or []
    try:
        ips = [str(r["ip"]) for r in results if r.get("ip")] + [str(c["to"]) for c in rotation if c.get("to")]
        histories, history_error = read_histories(dynamodb, table, ips), None
    except STORE_ERRORS as error:  # every finding then looks new: alert too much rather than miss a change
        histories, history_error = None, f"reading {table}: {type(error).__name__}"
        logger.exception("exposure history unavailable")
    summary = summarize(
        results, rotate_on=event.get("rotateOn", RotateOn.NEVER), execution=execution, evidence_bucket=bucket,
        checked_at=utc_now(), histories=histories, history_error=history_error, rotation=rotation,
        rotation_error=describe_failure(rotation_state.get("aborted")), skipped=targets.get("skipped") or [],
        record_key=event.get("recordKey") or sweep_record_key(execution), sweep_started_at=event.get("sweepStartedAt"),
    )  # fmt: skip
    record = dict(summary.record)  # too big for the state machine at scale: it goes to S3 from here
    try:
        write_histories(dynamodb, table, summary.histories.values())
    except STORE_ERRORS as error:  # the record still holds every result; the next sweep may repeat an alert
        record["historyWriteError"] = f"{type(error).__name__}: {error}"[:500]
        logger.exception("exposure history not saved")
    output = summary.to_json()
    try:
        body = json.dumps(record, default=str).encode()
        s3.put_object(Bucket=bucket, Key=summary.record_key, Body=body, ContentType="application/json")
        output["recordStored"] = True
    except (ClientError, BotoCoreError) as error:  # the state machine fails the sweep after alerting
        logger.exception("sweep record not stored")
        output["recordStored"], output["recordError"] = False, f"{type(error).__name__}: {error}"[:500]
    for name, value in (("IpsChecked", summary.checked), ("IpsExposed", len(summary.exposed)),
                        ("LookupErrors", len(summary.errors)), ("ExposureChanges", len(summary.changes))):  # fmt: skip
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    logger.info("sweep summarised", extra={"checked": summary.checked, "changes": output["changes"]})
    return output
