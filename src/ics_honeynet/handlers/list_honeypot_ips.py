"""Lambda adapter: the honeynet services' RUNNING tasks and their public IPs (ListHoneypotIps;
the ASL's ListHoneypotIps and ListReplacements). One service per Conpot template
(``HONEYPOT_SERVICES``: ``template=service,...``); an event may name one ``service``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ics_honeynet.contracts import HoneypotListing, MonitoredIps, SweepInput, SweepListing
from ics_honeynet.honeynet_api import list_honeypots, store_targets
from ics_honeynet.honeypot_ips import add_extra_ips, only_ip, parse_extra_ips, parse_services, started_after

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
ecs, ec2, s3 = boto3.client("ecs"), boto3.client("ec2"), boto3.client("s3")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> SweepListing | HoneypotListing | MonitoredIps:
    cluster = event.get("cluster") or os.environ["CLUSTER_NAME"]
    services = (
        {str(event["service"]): None} if event.get("service") else parse_services(os.environ["HONEYPOT_SERVICES"])
    )
    listing = list_honeypots(ecs, ec2, cluster, services)
    targeted = False
    if event.get("startedAfter"):
        # A rotation's check for replacements: only tasks started since its stop (the list stays
        # small however large the honeynet); extra IPs have no task and are never replacements.
        listing = started_after(listing, str(event["startedAfter"]))
    else:
        listing = add_extra_ips(listing, *parse_extra_ips(os.environ.get("EXTRA_HONEYPOT_IPS", "")))
        sweep_input: SweepInput = event.get("sweepInput") or SweepInput()
        if targeted := bool(sweep_input.get("targetIp")):
            # A sweep Shodan Monitor's push started (the webhook): only the notified IP.
            listing = only_ip(listing, str(sweep_input["targetIp"]))
            logger.info("targeted sweep", extra={"targetIp": sweep_input["targetIp"], "found": bool(listing.ips)})
    if event.get("targetsKey") and listing.ips:
        # A sweep: every target and skipped task to S3; the targets, one Map item each, to the state machine.
        store_targets(s3, event["targetsBucket"], event["targetsKey"], listing)
    for skipped in listing.skipped:
        logger.info("task skipped", extra={"taskArn": skipped.task_arn, "reason": skipped.reason})
    if not targeted and not event.get("ipsOnly"):  # counted once per sweep, not per targeted or alert listing
        metrics.add_metric(name="RunningHoneypots", unit=MetricUnit.Count, value=len(listing.ips))
    metrics.add_metric(name="SkippedTasks", unit=MetricUnit.Count, value=len(listing.skipped))
    logger.info("honeypot IPs listed", extra={"ips": len(listing.ips), "skipped": len(listing.skipped)})
    if event.get("ipsOnly"):  # the Shodan alert's IPs (the ASL's ListMonitoredIps)
        return {"ips": [item.ip for item in listing.ips]}
    return listing.sweep_json(event["targetsKey"]) if event.get("targetsKey") else listing.to_json()
