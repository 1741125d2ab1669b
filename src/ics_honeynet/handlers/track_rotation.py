"""Lambda adapter: one step of a verified rotation (TrackRotation; the ASL's PlanRotation,
TrackReplacements and JudgeReplacements): plan, observe replacements, judge them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet.contracts import ChainStatus, RotationState, RotationStep
from ics_honeynet.rotation import advance

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> RotationState:
    state = advance(event)
    statuses = [chain["status"] for chain in state["chains"]]
    logger.info("rotation step", extra={"action": event.get("action"), "next": state["next"], "chains": statuses})
    metrics.add_metric(name="RotationSteps", unit=MetricUnit.Count, value=1)
    if state["next"] == RotationStep.DONE:
        metrics.add_metric(name="Rotated", unit=MetricUnit.Count, value=statuses.count(ChainStatus.ROTATED))
        metrics.add_metric(name="RotationsFailed", unit=MetricUnit.Count, value=statuses.count(ChainStatus.FAILED))
    return state
