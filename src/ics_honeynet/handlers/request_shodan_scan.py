"""Lambda adapter: ask Shodan to scan one treatment honeypot's IP now (RequestShodanScan; the
ASL's RequestScan, experiment mode only).

The event is one ``ScanTarget`` the state machine has already claimed (ClaimScan: at most one
request per tenure); the reply is Shodan's receipt (``ScanReceipt``). Errors are exposure.py's
typed errors, by class name: the state machine retries a 429 (nothing was scanned) and records
anything else on the tenure. The function refuses to run when the stack's ExperimentMode is off.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet import shodan_client
from ics_honeynet.contracts import ExperimentMode, ScanReceipt
from ics_honeynet.experiment import ExperimentOffError
from ics_honeynet.exposure import parse_target

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> ScanReceipt:
    if os.environ.get("EXPERIMENT_MODE") != ExperimentMode.ON:
        raise ExperimentOffError("ExperimentMode is off: no honeypot is submitted to Shodan for scanning")
    ip = parse_target(event).ip
    answer = shodan_client.client().scan(ip)
    metrics.add_metric(name="ShodanScansRequested", unit=MetricUnit.Count, value=1)
    if answer.credits_left is not None:  # what the key has left: ShodanScanCreditsLowAlarm warns below LowScanCredits
        metrics.add_metric(name="ShodanScanCreditsLeft", unit=MetricUnit.Count, value=answer.credits_left)
    logger.info("shodan scan requested", extra={"ip": ip, "scanId": answer.scan_id, "creditsLeft": answer.credits_left})
    return {"ip": ip, "scanId": answer.scan_id, "count": answer.count, "creditsLeft": answer.credits_left}
