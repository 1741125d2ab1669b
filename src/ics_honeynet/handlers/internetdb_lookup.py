"""Lambda adapter: ask Shodan InternetDB about one honeypot IP (InternetDbLookup; the ASL's
AskInternetDb, the second opinion after Shodan's API check, and under ``ShodanEngine=internetdb``
its CheckIp and LookupReplacement, the only engine).

The event is one Map item (``SweepTarget``); the reply is that IP's check by InternetDB
(``CheckResult``, ``engine`` internetdb; AskInternetDb keeps only its verdict, ports and tags).
Errors are internetdb.py's typed errors, by class name. No key: this function cannot read the
Shodan key, and writes nothing but its share of InternetDB's pace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet import internetdb_client
from ics_honeynet.contracts import CheckResult, Verdict
from ics_honeynet.exposure import parse_target
from ics_honeynet.internetdb import assess

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> CheckResult:
    target = parse_target(event)
    host = internetdb_client.client().host(target.ip)
    result = assess(target, host, checked_at=datetime.now(UTC))

    metrics.add_metric(name="InternetDbLookups", unit=MetricUnit.Count, value=1)
    if result["verdict"] != Verdict.NOT_INDEXED:
        metrics.add_metric(name="InternetDbIndexed", unit=MetricUnit.Count, value=1)
    logger.info(
        "internetdb lookup",
        extra={"ip": target.ip, "verdict": result["verdict"], "ports": result["ports"], "tags": result["tags"]},
    )
    return result
