"""Lambda adapter: ask Shodan about one honeypot IP, or a batch of them (the real ``shodan``
client). A batch (``{"batch", "bucket", "targetsKey", "first", "size", "execution"}``) reads its
targets from S3 and writes evidence, errors and results back (see batch.py)."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
import requests
import shodan
from api_key import ShodanKeyUnavailableError, read_api_key
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from batch import (
    RetryPolicy,
    batch_summary,
    compact_result,
    error_document,
    error_result,
    lookup_with_retries,
    object_keys,
    targets_of,
)
from botocore.exceptions import BotoCoreError, ClientError
from exposure import (
    FINGERPRINTED,
    HONEYSCORE_NOT_ASKED,
    NO_SCORE,
    NOT_FOUND_MESSAGE,
    NOT_INDEXED,
    UNAVAILABLE,
    Honeyscore,
    ShodanAuthError,
    ShodanLookupError,
    assess,
    classify_api_error,
    has_our_banners,
    honeyscore_failed,
    normalise_ip,
    parse_honeyscore,
    parse_target,
    validate_host,
)
from pacing import RequestPacer
from requests.adapters import HTTPAdapter

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()

KEY_CACHE_SECONDS = 300


class _HttpObserver(HTTPAdapter):
    """Gives the shodan client a timeout (it sets none), paces its requests (see pacing.py) and
    remembers what HTTP saw, which the client's APIError drops (status code, timeout vs refused).
    Never records URLs: they hold the key."""

    def __init__(self, timeout: float, pacer: RequestPacer) -> None:
        super().__init__()
        self.timeout = timeout
        self.pacer = pacer
        self.status: int | None = None
        self.transport_error: str | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.status, self.transport_error = None, None
        kwargs["timeout"] = self.timeout
        self.pacer.wait()
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
    """One client per container (its pacing carries over between warm invocations), rebuilt only
    if the key or SHODAN_API_URL changes."""
    global _cached
    cache_key = (api_key, os.environ.get("SHODAN_API_URL"))
    if _cached is None or _cached[0] != cache_key:
        api = shodan.Shodan(api_key)
        api.api_rate_limit = 0  # our pacer replaces the client's (which adds each request's latency)
        observer = _HttpObserver(
            timeout=float(os.environ.get("SHODAN_TIMEOUT_SECONDS", "10")),
            # One key, one rate: MapConcurrency workers share it.
            pacer=RequestPacer(
                float(os.environ.get("SHODAN_REQUESTS_PER_SECOND", "1")) / int(os.environ.get("SHODAN_WORKERS", "1"))
            ),
        )
        api._session.mount("https://", observer)
        api._session.mount("http://", observer)
        _cached = (cache_key, api, observer)
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


def _retry_policy() -> RetryPolicy:
    return RetryPolicy(time_scale=float(os.environ.get("RETRY_TIME_SCALE", "1")))


def _honeyscore(api: shodan.Shodan, observer: _HttpObserver, ip: str) -> Honeyscore:
    """Paced and retried like the host lookup; if Shodan stays unavailable, the score is
    UNAVAILABLE (unknown), never a silent "no score"."""
    try:
        answer = lookup_with_retries(
            lambda: _shodan_call(observer, api.labs.honeyscore, ip),
            _retry_policy(),
            time.sleep,
            observer.pacer.slow_down,
        )
    except ShodanLookupError as error:
        logger.warning("honeyscore unavailable", extra={"ip": ip, "reason": type(error).__name__})
        return honeyscore_failed(error)
    if answer is _NOT_FOUND:
        return Honeyscore(NO_SCORE, reason=NOT_FOUND_MESSAGE)
    return parse_honeyscore(answer)


def lookup(event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """One IP: (the verdict, Shodan's full host document or None). The honeyscore is asked only
    for IPs Shodan has seen since our task started. Raises the typed errors of exposure.py."""
    target = parse_target(event)
    threshold = float(os.environ.get("HONEYSCORE_THRESHOLD", "0.5"))
    api, observer = _client(_api_key())
    answer = _shodan_call(observer, api.host, target.ip)
    raw_host = None if answer is _NOT_FOUND else answer
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
    return result, raw_host


def check_ip(event: dict[str, Any]) -> dict[str, Any]:
    """One IP, for the state machine (the rotation's replacement check): a bounded reply."""
    return lookup(event)[0]


# -- batches ---------------------------------------------------------------------------------
@cache
def _s3() -> Any:
    return boto3.client("s3")


def _put_json(bucket: str, key: str, document: Any) -> dict[str, Any]:
    """{"stored": true, "eTag"} or, if S3 refuses after boto3's retries, the error (not raised:
    the finding still counts and is still reported)."""
    try:
        response = _s3().put_object(
            Bucket=bucket, Key=key, Body=json.dumps(document).encode(), ContentType="application/json"
        )
        return {"stored": True, "eTag": response.get("ETag")}
    except (ClientError, BotoCoreError) as error:
        code = error.response["Error"]["Code"] if isinstance(error, ClientError) else type(error).__name__
        logger.warning("S3 refused an object", extra={"key": key, "error": code})
        return {"stored": False, "Error": f"S3.{code}", "Cause": str(error)[:300]}


class ResultsNotStoredError(RuntimeError):
    """S3 did not take a batch's results."""


def _check_target(
    target: dict[str, Any], bucket: str, execution: str, policy: RetryPolicy, pacer: RequestPacer
) -> dict[str, Any]:
    """One target of a batch: its compact result, or its error, never an exception (but a
    rejected key): one IP's odd answer must not cost the other IPs of the batch their verdicts."""
    keys = object_keys(target.get("ip"), execution)
    try:
        target["ip"] = normalise_ip(target.get("ip"))
        target["evidenceKey"] = keys.evidence
        result, raw_host = lookup_with_retries(lambda: lookup(target), policy, time.sleep, pacer.slow_down)
    except (ShodanAuthError, ShodanKeyUnavailableError):
        raise  # the sweep fails by these names: every other lookup would fail the same way
    except Exception as error:  # recorded for this IP, with its type and message
        if not isinstance(error, ShodanLookupError | ValueError):
            logger.exception("unexpected lookup failure", extra={"ip": target.get("ip")})
        stored = _put_json(bucket, keys.error, error_document(error))
        logger.warning("lookup failed", extra={"ip": target.get("ip"), "error": type(error).__name__})
        return error_result(target, error, keys.error, stored["stored"])
    # The full host document goes to S3; the result keeps its bounded essentials.
    evidence = _put_json(bucket, keys.evidence, raw_host) if result["found"] else None
    return compact_result(result, evidence)


def check_batch(event: dict[str, Any]) -> dict[str, Any]:
    bucket, execution = str(event["bucket"]), str(event.get("execution") or "manual")
    document = json.loads(_s3().get_object(Bucket=bucket, Key=event["targetsKey"])["Body"].read())
    _api, observer = _client(_api_key())  # the container's client and its request pacer
    policy = _retry_policy()
    results = [
        _check_target(target, bucket, execution, policy, observer.pacer)
        for target in targets_of(document, event.get("first"), event.get("size"))
    ]
    results_key = f"results/{execution}/{int(event['batch']):05d}.json"
    stored = _put_json(bucket, results_key, results)
    if not stored["stored"]:
        # Without the results object the sweep would lose these verdicts: let the ASL retry.
        raise ResultsNotStoredError(f"{results_key}: {stored['Error']}")
    return batch_summary(int(event["batch"]), int(event["first"]), results, results_key)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "batch" in event:
        return check_batch(event)
    return check_ip(event)
