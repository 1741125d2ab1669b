"""Lambda adapter: ask Shodan about one honeypot IP (the real ``shodan`` client).

The event is one Map iteration's input, ``{"ip", "taskArn", "startedAt"}`` (``taskArn`` and
``startedAt`` are null for an extra IP outside the stack); the reply is that IP's check
(``CheckResult``, bounded: see exposure.MAX_RESULT_BYTES). The state machine stores the evidence
and records errors: this function writes nothing but its share of the Shodan pace.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import requests
import shodan
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter

from ics_honeynet.api_key import read_api_key
from ics_honeynet.exposure import (
    FINGERPRINTED,
    HONEYSCORE_NOT_ASKED,
    NO_SCORE,
    NOT_FOUND_MESSAGE,
    NOT_INDEXED,
    UNAVAILABLE,
    CheckResult,
    Honeyscore,
    ShodanLookupError,
    ShodanRateLimitError,
    assess,
    classify_api_error,
    has_our_banners,
    honeyscore_failed,
    parse_honeyscore,
    parse_target,
    validate_host,
)
from ics_honeynet.pacing import DynamoSlotStore, PacerUnavailableError, SharedPacer
from ics_honeynet.retries import RetryPolicy, lookup_with_retries

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()

KEY_CACHE_SECONDS = 300


class _HttpObserver(HTTPAdapter):
    """Gives the shodan client a timeout (it sets none), waits for each request's shared slot
    (see pacing.py) and remembers what HTTP saw, which the client's APIError drops (status code,
    timeout vs refused). Never records URLs: they hold the key."""

    def __init__(self, timeout: float, pacer: SharedPacer) -> None:
        super().__init__()
        self.timeout = timeout
        self.pacer = pacer
        self.status: int | None = None
        self.transport_error: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.status, self.transport_error = None, None
        kwargs["timeout"] = self.timeout
        try:
            self.pacer.wait()
        except (ClientError, BotoCoreError) as error:
            raise PacerUnavailableError(f"the Shodan pace table did not answer: {error}") from None
        try:
            response = super().send(request, **kwargs)
        except requests.Timeout:
            self.transport_error = f"Shodan did not answer within {self.timeout:g} s"
            raise
        except requests.ConnectionError:
            self.transport_error = "could not connect to Shodan"
            raise
        self.status = response.status_code
        return response


@cache
def _pacer() -> SharedPacer:
    """One per container; the pace itself is shared by every container (DynamoDB)."""
    store = DynamoSlotStore(
        boto3.client("dynamodb"), os.environ["SHODAN_PACE_TABLE"], os.environ["SHODAN_API_KEY_PARAMETER"]
    )
    rate = float(os.environ.get("SHODAN_REQUESTS_PER_SECOND", "1"))
    return SharedPacer(store, rate, clock=time.time, sleep=time.sleep)


_cached: tuple[str, shodan.Shodan, _HttpObserver] | None = None


def _client(api_key: str) -> tuple[shodan.Shodan, _HttpObserver]:
    """One client per container, rebuilt only if the key changes."""
    global _cached
    if _cached is None or _cached[0] != api_key:
        api = shodan.Shodan(api_key)
        api.api_rate_limit = 0  # the shared pacer replaces the client's own (per instance) pacing
        observer = _HttpObserver(timeout=float(os.environ.get("SHODAN_TIMEOUT_SECONDS", "10")), pacer=_pacer())
        api._session.mount("https://", observer)
        api._session.mount("http://", observer)
        _cached = (api_key, api, observer)
    return _cached[1], _cached[2]


def _api_key() -> str:
    """Decrypted in this function only, cached for the container; never logged. A key that
    cannot be read raises ShodanKeyUnavailableError (the sweep fails, naming parameter and region)."""
    return read_api_key(
        lambda name: parameters.get_parameter(name, decrypt=True, max_age=KEY_CACHE_SECONDS),
        os.environ["SHODAN_API_KEY_PARAMETER"],
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "(unknown region)",
    )


_NOT_FOUND = object()  # Shodan's "No information available for that IP."


def _shodan_call(observer: _HttpObserver, call: Any, *args: Any) -> Any:
    """Run a client call; a typed error, or _NOT_FOUND for Shodan's "No information available"."""
    try:
        return call(*args)
    except shodan.APIError as error:
        typed = classify_api_error(str(error.value), observer.status, observer.transport_error)
        if typed is None:
            return _NOT_FOUND
        # `from None`: the chained requests error names the URL, and the URL holds the key.
        raise typed from None


def _honeyscore(api: shodan.Shodan, observer: _HttpObserver, ip: str) -> Honeyscore:
    """Paced and retried here (the host lookup is retried by the state machine); if Shodan stays
    unavailable, the score is UNAVAILABLE (unknown), never a silent "no score"."""
    try:
        answer = lookup_with_retries(
            lambda: _shodan_call(observer, api.labs.honeyscore, ip),
            RetryPolicy(),
            time.sleep,
            observer.pacer.slow_down,
        )
    except ShodanLookupError as error:
        logger.warning("honeyscore unavailable", extra={"ip": ip, "reason": type(error).__name__})
        return honeyscore_failed(error)
    if answer is _NOT_FOUND:
        return Honeyscore(NO_SCORE, reason=NOT_FOUND_MESSAGE)
    return parse_honeyscore(answer)


def check(event: dict[str, Any]) -> CheckResult:
    """One IP's check. The honeyscore is asked only for IPs Shodan has seen since our task
    started. Raises the typed errors of exposure.py (the state machine retries or records them)."""
    target = parse_target(event)
    threshold = float(os.environ.get("HONEYSCORE_THRESHOLD", "0.5"))
    api, observer = _client(_api_key())
    try:
        answer = _shodan_call(observer, api.host, target.ip)
    except ShodanRateLimitError:
        observer.pacer.slow_down()  # the state machine's retry then reserves a wider slot
        raise
    host = None if answer is _NOT_FOUND else validate_host(answer, target.ip)
    honeyscore = HONEYSCORE_NOT_ASKED
    if host is not None and has_our_banners(host, target.started_at):
        honeyscore = _honeyscore(api, observer, target.ip)
    result = assess(target, host, honeyscore, threshold=threshold, checked_at=datetime.now(UTC))

    metrics.add_metric(name="ShodanLookups", unit=MetricUnit.Count, value=1)
    if result["verdict"] != NOT_INDEXED:
        metrics.add_metric(name="Indexed", unit=MetricUnit.Count, value=1)
    if result["verdict"] == FINGERPRINTED:
        metrics.add_metric(name="Fingerprinted", unit=MetricUnit.Count, value=1)
    if result["honeyscoreStatus"] == UNAVAILABLE:
        metrics.add_metric(name="HoneyscoreUnavailable", unit=MetricUnit.Count, value=1)
    logger.info(
        "shodan lookup",
        extra={
            "ip": target.ip,
            "verdict": result["verdict"],
            "ports": result["ports"],
            "tags": result["tags"],
            "honeyscoreStatus": result["honeyscoreStatus"],
        },
    )
    return result


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> CheckResult:
    return check(event)
