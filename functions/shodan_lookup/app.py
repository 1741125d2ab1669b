"""Lambda adapter: ask Shodan about one honeypot IP (the real ``shodan`` client)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
import shodan
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from exposure import (
    FINGERPRINTED,
    NOT_INDEXED,
    assess,
    classify_api_error,
    has_our_banners,
    parse_honeyscore,
    parse_target,
    validate_host,
)
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()

KEY_CACHE_SECONDS = 300


class _HttpObserver(HTTPAdapter):
    """Gives the shodan client a timeout (it sets none) and remembers what HTTP saw, which the
    client's APIError drops (status code, timeout vs refused). Never records URLs: they hold the key."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.status: int | None = None
        self.transport_error: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.status, self.transport_error = None, None
        kwargs["timeout"] = self.timeout
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


_cached: tuple[tuple[str, str | None], shodan.Shodan, _HttpObserver] | None = None


def _client(api_key: str) -> tuple[shodan.Shodan, _HttpObserver]:
    """One client per container (its 1 request/s pacing carries over between warm invocations),
    rebuilt only if the key or SHODAN_API_URL changes."""
    global _cached
    cache_key = (api_key, os.environ.get("SHODAN_API_URL"))
    if _cached is None or _cached[0] != cache_key:
        api = shodan.Shodan(api_key)
        # The client paces itself (1 request/s by default, Shodan's limit per key).
        api.api_rate_limit = float(os.environ.get("SHODAN_REQUESTS_PER_SECOND", "1"))
        observer = _HttpObserver(timeout=float(os.environ.get("SHODAN_TIMEOUT_SECONDS", "10")))
        api._session.mount("https://", observer)
        api._session.mount("http://", observer)
        _cached = (cache_key, api, observer)
    return _cached[1], _cached[2]


def _api_key() -> str:
    # Decrypted in this function only, cached for the container; never logged.
    return parameters.get_parameter(os.environ["SHODAN_API_KEY_PARAMETER"], decrypt=True, max_age=KEY_CACHE_SECONDS)  # type: ignore[return-value]


def _shodan_call(observer: _HttpObserver, call: Any, *args: Any) -> Any:
    """Run a client call; a typed error, or None for Shodan's "No information available"."""
    try:
        return call(*args)
    except shodan.APIError as error:
        typed = classify_api_error(str(error.value), observer.status, observer.transport_error)
        if typed is None:
            return None
        # `from None`: the chained requests error names the URL, and the URL holds the key.
        raise typed from None


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    target = parse_target(event)
    threshold = float(os.environ.get("HONEYSCORE_THRESHOLD", "0.5"))
    api, observer = _client(_api_key())
    host = _shodan_call(observer, api.host, target.ip)
    honeyscore = None
    if host is not None:
        host = validate_host(host, target.ip)
    if host is not None and has_our_banners(host, target.started_at):
        # Only IPs Shodan has seen since our task started cost a second request; a failed
        # honeyscore is "unknown", not an error.
        try:
            honeyscore = parse_honeyscore(_shodan_call(observer, api.labs.honeyscore, target.ip))
        except Exception as error:
            logger.warning("honeyscore unavailable", extra={"ip": target.ip, "reason": type(error).__name__})
    result = assess(target, host, honeyscore, threshold=threshold, checked_at=datetime.now(UTC))

    metrics.add_metric(name="ShodanLookups", unit=MetricUnit.Count, value=1)
    if result["verdict"] != NOT_INDEXED:
        metrics.add_metric(name="Indexed", unit=MetricUnit.Count, value=1)
    if result["verdict"] == FINGERPRINTED:
        metrics.add_metric(name="Fingerprinted", unit=MetricUnit.Count, value=1)
    logger.info(
        "shodan lookup",
        extra={"ip": target.ip, "verdict": result["verdict"], "ports": result["ports"], "tags": result["tags"]},
    )
    return result
