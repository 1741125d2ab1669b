"""Lambda adapter: ask Shodan about one honeypot IP (ShodanLookup; the ASL's CheckIp and
LookupReplacement).

The event is one Map item (``SweepTarget``); the reply is that IP's check (``CheckResult``,
bounded: see exposure.MAX_RESULT_BYTES). The state machine stores the evidence and records
errors (exposure.py's typed errors, by class name): this function writes nothing but its share
of the Shodan pace.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet import shodan_client
from ics_honeynet.contracts import CheckResult, HoneyscoreStatus, Verdict
from ics_honeynet.exposure import HONEYSCORE_NOT_ASKED, assess, has_our_banners, parse_target

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> CheckResult:
    target = parse_target(event)
    shodan = shodan_client.client()
    host = shodan.host(target.ip)
    # The honeyscore only for an IP Shodan has seen since our task started.
    honeyscore = shodan.honeyscore(target.ip) if host and has_our_banners(host, target.started_at) else None
    if honeyscore is not None and honeyscore.status == HoneyscoreStatus.UNAVAILABLE:
        logger.warning("honeyscore unavailable", extra={"ip": target.ip, "reason": honeyscore.reason})
    threshold = float(os.environ.get("HONEYSCORE_THRESHOLD", "0.5"))
    result = assess(target, host, honeyscore or HONEYSCORE_NOT_ASKED, threshold=threshold, checked_at=datetime.now(UTC))

    metrics.add_metric(name="ShodanLookups", unit=MetricUnit.Count, value=1)
    if result["verdict"] != Verdict.NOT_INDEXED:
        metrics.add_metric(name="Indexed", unit=MetricUnit.Count, value=1)
    if result["verdict"] == Verdict.FINGERPRINTED:
        metrics.add_metric(name="Fingerprinted", unit=MetricUnit.Count, value=1)
    if result["honeyscoreStatus"] == HoneyscoreStatus.UNAVAILABLE:
        metrics.add_metric(name="HoneyscoreUnavailable", unit=MetricUnit.Count, value=1)
    logger.info(
        "shodan lookup",
        extra={"ip": target.ip, "verdict": result["verdict"], "ports": result["ports"], "tags": result["tags"],
               "honeyscoreStatus": result["honeyscoreStatus"]},
    )  # fmt: skip
    return result
