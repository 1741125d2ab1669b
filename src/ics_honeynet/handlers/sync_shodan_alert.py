"""Lambda adapter: keep the one Shodan network alert whose IPs are exactly the honeynet's
(SyncShodanAlert; the ASL's SyncShodanAlert, after the checks and any rotation). What it asks of
Shodan and when: shodan_alert.py. The event is ``{"execution", "ips"}``: every honeypot IP now
(ListMonitoredIps, extra IPs included); the reply is an ``AlertSync`` for the sweep record and
the email.

The webhook's URL comes from the SSM parameter the stack writes (``WEBHOOK_URL_PARAMETER``): the
state machine runs this function and the webhook starts the state machine, so the URL cannot be
handed to this function by the template without a circular dependency.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters

from ics_honeynet import shodan_client
from ics_honeynet.contracts import AlertSync, AlertSyncStatus, utc_now
from ics_honeynet.exposure import normalise_ip
from ics_honeynet.push_table import DynamoPushStore
from ics_honeynet.shodan_alert import AlertRecord, AlertSyncer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
dynamodb = boto3.client("dynamodb")
URL_CACHE_SECONDS = 300


class WebhookUrlUnavailableError(Exception):
    """The SSM parameter holding the webhook's URL could not be read."""


def _webhook_url() -> str:
    name = os.environ["WEBHOOK_URL_PARAMETER"]
    try:
        url = parameters.get_parameter(name, max_age=URL_CACHE_SECONDS)
    except Exception as error:  # Powertools wraps SSM's errors in its own
        raise WebhookUrlUnavailableError(f"the webhook's URL could not be read from {name}: {error}") from None
    if not isinstance(url, str) or not url.startswith("https://"):
        raise WebhookUrlUnavailableError(f"{name} holds no https URL")
    return url


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> AlertSync:
    ips = [normalise_ip(ip) for ip in event.get("ips") or []]
    store = DynamoPushStore(dynamodb, os.environ["SHODAN_PUSH_TABLE"])

    def save(record: AlertRecord) -> None:
        store.write_alert(record, utc_now())

    syncer = AlertSyncer(
        api=shodan_client.client(), save=save, name=os.environ["SHODAN_ALERT_NAME"], webhook_url=_webhook_url()
    )
    _record, result = syncer.sync(store.read_alert(), ips)
    if result["status"] != AlertSyncStatus.UNCHANGED:
        metrics.add_metric(name="ShodanAlertSyncs", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="UnmonitoredIps", unit=MetricUnit.Count, value=len(result.get("unmonitored") or []))
    logger.info("shodan alert synced", extra={k: v for k, v in result.items() if k != "unmonitored"})
    return result
