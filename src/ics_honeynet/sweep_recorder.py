"""Record one sweep (SummarizeSweep's work, with AWS): every target's result completed from S3,
the IPs' histories read and written in the exposure table, the sweep record stored in S3.

The summary itself is pure (sweep_report.summarize). What this module adds is how each store's
failure is survived, so the sweep still alerts and loses no result:

- the targets document unreadable: raise (nothing can be accounted for; the sweep fails loudly);
- the exposure table unreadable: every finding counts as new (alert too much rather than miss),
  and nothing is written back (items rebuilt without their past would erase every earlier
  tenure and its experiment arm); no arm is drawn;
- the histories not written: the record says so (the next sweep may repeat an alert);
- the record not stored: the reply says so (the state machine fails the sweep after alerting).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.contracts import (
    ExperimentMode,
    RotateOn,
    ShodanEngine,
    SummaryInput,
    SummaryOutput,
    sweep_record_key,
    utc_now,
)
from ics_honeynet.experiment import draw_arm
from ics_honeynet.history_store import HistoryNotSaved, read_histories, write_histories
from ics_honeynet.persona import tenure_persona
from ics_honeynet.sweep_report import SweepSummary, describe_failure, summarize
from ics_honeynet.sweep_results import gather_results

STORE_ERRORS = (ClientError, BotoCoreError, HistoryNotSaved)
MAX_ERROR = 500

logger = Logger(child=True)  # the handler's logger: same service, same JSON


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:MAX_ERROR]


@dataclass(frozen=True)
class SweepRecorder:
    """The stores a sweep is recorded in: boto3 DynamoDB and S3 clients, the exposure table."""

    dynamodb: Any
    s3: Any
    table: str
    persona_seed: str = ""  # PersonaSeed: pinned, "stock", or empty (each task's ARN)

    def _read_json(self, bucket: str, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def record(self, event: SummaryInput) -> tuple[SweepSummary, SummaryOutput]:
        bucket, execution = event["evidenceBucket"], event.get("execution") or "manual"
        targets = self._read_json(bucket, event["targetsKey"])
        entries = list(event.get("checks") or [])
        results = gather_results(targets["targets"], entries, lambda key: self._read_json(bucket, key))
        rotation_state = event.get("rotation") or {}
        rotation = rotation_state.get("outcome") or []
        ips = [str(r["ip"]) for r in results if r.get("ip")] + [str(c["to"]) for c in rotation if c.get("to")]
        read_error: Exception | None = None
        try:
            histories, history_error = read_histories(self.dynamodb, self.table, ips), None
        except STORE_ERRORS as error:
            histories, history_error, read_error = None, f"reading {self.table}: {type(error).__name__}", error
            logger.exception("exposure history unavailable")
        experiment = ExperimentMode(event.get("experimentMode") or ExperimentMode.OFF)
        summary = summarize(
            results, rotate_on=event.get("rotateOn", RotateOn.NEVER), execution=execution, evidence_bucket=bucket,
            checked_at=utc_now(), histories=histories, history_error=history_error, rotation=rotation,
            rotation_error=describe_failure(rotation_state.get("aborted")), skipped=targets.get("skipped") or [],
            record_key=event.get("recordKey") or sweep_record_key(execution),
            sweep_started_at=event.get("sweepStartedAt"),
            draw=draw_arm if experiment == ExperimentMode.ON else None,
            shodan_alert=event.get("shodanAlert"),
            name_persona=partial(tenure_persona, pinned=self.persona_seed),
            shodan_engine=event.get("shodanEngine") or ShodanEngine.API,
        )  # fmt: skip
        record = dict(summary.record)  # too big for the state machine at scale: it goes to S3 from here
        if read_error is not None:
            record["historyWriteError"] = f"not written: the table could not be read ({_error_text(read_error)})"
        else:
            try:
                write_histories(self.dynamodb, self.table, summary.histories.values())
            except STORE_ERRORS as error:
                record["historyWriteError"] = _error_text(error)
                logger.exception("exposure history not saved")
        output = summary.to_json()
        if "historyWriteError" in record:
            output["scans"] = []  # an arm not stored is no arm: nothing to request
        try:
            body = json.dumps(record, default=str).encode()
            self.s3.put_object(Bucket=bucket, Key=summary.record_key, Body=body, ContentType="application/json")
            output["recordStored"] = True
        except (ClientError, BotoCoreError) as error:
            logger.exception("sweep record not stored")
            output["recordStored"], output["recordError"] = False, _error_text(error)
        return summary, output
