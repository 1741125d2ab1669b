"""Lambda adapter: the sweep's checks (the Map's entries, completed from S3) and rotation outcome in; the
IPs' histories updated in the exposure table; the sweep record written to S3; the email (only if
something changed) out."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.exposure_history import IpHistory
from ics_honeynet.sweep_report import describe_failure, summarize
from ics_honeynet.sweep_results import gather_results

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
dynamodb = boto3.client("dynamodb")
s3 = boto3.client("s3")
_to_dynamo, _from_dynamo = TypeSerializer(), TypeDeserializer()

BATCH_GET, BATCH_WRITE, UNPROCESSED_TRIES = 100, 25, 5


class HistoryNotSaved(RuntimeError):
    """DynamoDB kept refusing some items after retries."""


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_histories(table: str, ips: Iterable[str]) -> dict[str, IpHistory]:
    histories: dict[str, IpHistory] = {}
    for chunk in _chunks(sorted(set(ips)), BATCH_GET):
        request = {table: {"Keys": [{"ip": {"S": ip}} for ip in chunk], "ConsistentRead": True}}
        for attempt in range(UNPROCESSED_TRIES):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                plain = {k: _from_dynamo.deserialize(v) for k, v in item.items()}
                histories[plain["ip"]] = IpHistory.from_item(plain)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.1 * 2**attempt)  # DynamoDB throttled part of the batch
        if request:
            raise HistoryNotSaved(f"DynamoDB did not return {len(request[table]['Keys'])} item(s) after retries")
    return histories


def write_histories(table: str, histories: Iterable[IpHistory]) -> None:
    puts = [{"PutRequest": {"Item": {k: _to_dynamo.serialize(v) for k, v in h.to_item().items()}}} for h in histories]
    for chunk in _chunks(puts, BATCH_WRITE):
        request = {table: chunk}
        for attempt in range(UNPROCESSED_TRIES):
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
            time.sleep(0.1 * 2**attempt)
        if request:
            raise HistoryNotSaved(f"DynamoDB did not store {len(request[table])} item(s) after retries")


def read_json(bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def store_record(bucket: str, key: str, record: dict[str, Any]) -> str | None:
    """None when stored; else why not (the state machine fails the sweep after alerting)."""
    try:
        body = json.dumps(record, default=str).encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    except (ClientError, BotoCoreError) as error:
        logger.exception("sweep record not stored")
        return f"{type(error).__name__}: {error}"[:500]
    return None


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    table, bucket = os.environ["EXPOSURE_TABLE"], str(event["evidenceBucket"])
    # Every target, from the document list_honeypot_ips wrote; a failure here fails the sweep
    # (loudly: without the targets nothing can be accounted for).
    targets = read_json(bucket, event["targetsKey"])
    results = gather_results(targets["targets"], event.get("checks") or [], lambda key: read_json(bucket, key))
    rotation_state = event.get("rotation") or {}
    rotation = rotation_state.get("outcome") or []
    ips = [str(r.get("ip")) for r in results if isinstance(r, dict) and r.get("ip")]
    ips += [str(c["to"]) for c in rotation if c.get("to")]
    histories: dict[str, IpHistory] | None
    history_error = None
    try:
        histories = read_histories(table, ips)
    except (ClientError, BotoCoreError, HistoryNotSaved) as error:
        # Without history every finding looks new: alert too much rather than miss a change.
        histories, history_error = None, f"reading {table}: {type(error).__name__}"
        logger.exception("exposure history unavailable")
    summary = summarize(
        results,
        rotate_on=event.get("rotateOn", "never"),
        execution=event.get("execution", "manual"),
        evidence_bucket=bucket,
        checked_at=datetime.now(UTC).isoformat(),
        histories=histories,
        history_error=history_error,
        rotation=rotation,
        rotation_error=describe_failure(rotation_state.get("aborted")),
        skipped=targets.get("skipped") or [],
        record_key=event.get("recordKey", ""),
        sweep_started_at=event.get("sweepStartedAt"),
    )
    output = summary.to_json()
    record = output.pop("record")  # too big for the state machine at scale: it goes to S3 from here
    try:
        write_histories(table, summary.histories.values())
    except (ClientError, BotoCoreError, HistoryNotSaved) as error:
        # The sweep record (S3) still holds every result; the next sweep may repeat an alert.
        record["historyWriteError"] = f"{type(error).__name__}: {error}"[:500]
        logger.exception("exposure history not saved")
    record_error = store_record(bucket, summary.record_key, record)
    output["recordStored"] = record_error is None
    if record_error:
        output["recordError"] = record_error
    metrics.add_metric(name="IpsChecked", unit=MetricUnit.Count, value=summary.checked)
    metrics.add_metric(name="IpsExposed", unit=MetricUnit.Count, value=len(summary.exposed))
    metrics.add_metric(name="LookupErrors", unit=MetricUnit.Count, value=len(summary.errors))
    metrics.add_metric(name="ExposureChanges", unit=MetricUnit.Count, value=len(summary.changes))
    logger.info(
        "sweep summarised",
        extra={"checked": summary.checked, "exposed": len(summary.exposed), "changes": output["changes"]},
    )
    return output
