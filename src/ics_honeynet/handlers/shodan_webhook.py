"""Lambda adapter: Shodan Monitor's webhook (ShodanWebhook, behind a function URL with AuthType
NONE: Shodan cannot sign AWS requests, so the request's own SHODAN-SIGNATURE-SHA1 is the
authentication). A verified, fresh, first-seen notification about one of our IPs starts a sweep
of just that IP; what is checked and why: monitor_push.py.

The event (the request, its signature header included) is never logged, nor the key; the log
line and the ``ShodanNotifications`` metric carry the outcome, the IP and the alert's trigger.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.api_key import ShodanKeyUnavailableError, stack_api_key
from ics_honeynet.contracts import SweepInput
from ics_honeynet.monitor_push import PushUnavailableError, Receiver, WebhookRequest
from ics_honeynet.push_table import DynamoPushStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
dynamodb, stepfunctions = boto3.client("dynamodb"), boto3.client("stepfunctions")


def _api_key() -> str:
    try:
        return stack_api_key()
    except ShodanKeyUnavailableError as error:
        raise PushUnavailableError(str(error)) from None


class StepFunctionsStarter:
    def start(self, name: str, execution_input: SweepInput) -> str:
        try:
            stepfunctions.start_execution(
                stateMachineArn=os.environ["SWEEP_STATE_MACHINE_ARN"], name=name, input=json.dumps(execution_input)
            )
        except stepfunctions.exceptions.ExecutionAlreadyExists:
            pass  # this window's sweep of the IP ran already (StartExecution's name idempotency)
        except (ClientError, BotoCoreError) as error:
            raise PushUnavailableError(f"Step Functions did not start the sweep ({type(error).__name__})") from None
        return name


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = DynamoPushStore(dynamodb, os.environ["SHODAN_PUSH_TABLE"])
    receiver = Receiver(api_key=_api_key, store=store, starter=StepFunctionsStarter())
    receipt = receiver.receive(WebhookRequest.from_function_url(event))
    metrics.add_dimension(name="outcome", value=receipt.outcome)
    metrics.add_metric(name="ShodanNotifications", unit=MetricUnit.Count, value=1)
    logger.info(
        "shodan notification",
        extra={"outcome": receipt.outcome, "status": receipt.status, "ip": receipt.ip, "trigger": receipt.trigger,
               "alertId": receipt.alert_id, "execution": receipt.execution, "detail": receipt.detail},
    )  # fmt: skip
    return {
        "statusCode": receipt.status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(receipt.reply()),
    }
