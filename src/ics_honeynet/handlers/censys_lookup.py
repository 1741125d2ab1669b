"""Lambda adapter: ask Censys about one honeypot IP (CensysLookup; the ASL's AskCensys, the second
index beside Shodan, asked only when the stack names a Censys token: CensysTokenParameter).

The event is one Map item (``SweepTarget``); the reply is Censys's opinion (``EngineOpinion``:
its verdict, ports, protocols and labels as tags), or ``SKIPPED_BUDGET`` without a request when
this month's lookups (CensysMonthlyLookups) are spent. Errors are censys.py's typed errors, by
class name; the state machine keeps them as Censys's ERROR, never the check's. The token is read
from SSM here only and never logged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet import censys_client
from ics_honeynet.censys import opinion
from ics_honeynet.contracts import EXPOSED_VERDICTS, EngineOpinion, NotAsked
from ics_honeynet.exposure import parse_target

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> EngineOpinion:
    target = parse_target(event)
    client = censys_client.client()  # the token first: an unreadable one spends no lookup
    said: EngineOpinion
    if not client.spend_lookup(datetime.now(UTC)):
        said = {"verdict": NotAsked.SKIPPED_BUDGET, "ports": [], "protocols": [], "tags": []}
        metrics.add_metric(name="CensysLookupsSkipped", unit=MetricUnit.Count, value=1)
    else:
        said = opinion(client.host(target.ip))
        metrics.add_metric(name="CensysLookups", unit=MetricUnit.Count, value=1)
        if said["verdict"] in EXPOSED_VERDICTS:
            metrics.add_metric(name="CensysIndexed", unit=MetricUnit.Count, value=1)
    logger.info("censys lookup", extra={"ip": target.ip, **said})
    return said
