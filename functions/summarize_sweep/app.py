"""Lambda adapter: the sweep's Map results in, the alert and rotation plan out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from sweep_report import summarize

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    summary = summarize(
        event.get("results") or [],
        rotate_on=event.get("rotateOn", "never"),
        execution=event.get("execution", "manual"),
        evidence_bucket=event.get("evidenceBucket", ""),
        skipped=event.get("skipped") or [],
        record_key=event.get("recordKey", ""),
        sweep_started_at=event.get("sweepStartedAt"),
    )
    metrics.add_metric(name="IpsChecked", unit=MetricUnit.Count, value=summary.checked)
    metrics.add_metric(name="IpsExposed", unit=MetricUnit.Count, value=len(summary.exposed))
    metrics.add_metric(name="LookupErrors", unit=MetricUnit.Count, value=len(summary.errors))
    metrics.add_metric(name="RotationsRequested", unit=MetricUnit.Count, value=len(summary.rotate))
    logger.info(
        "sweep summarised",
        extra={"checked": summary.checked, "exposed": len(summary.exposed), "rotate": len(summary.rotate)},
    )
    return summary.to_json()
