"""The Shodan client wrapper: the real ``shodan`` client, paced by the key's shared pace, with a
timeout, its answers typed (exposure.py's errors, a HostDocument, a Honeyscore, a ScanAnswer).

One client per Lambda container (module globals), rebuilt only when the key changes; the key
is read from SSM (SecureString, decrypted here only, cached: api_key.stack_api_key), never logged.
The host lookup is retried by the state machine (its Retry, visible in the console); the
honeyscore, asked in the same invocation, is retried here (retries.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import boto3
import requests
import shodan
from botocore.exceptions import BotoCoreError, ClientError
from requests.adapters import HTTPAdapter

from ics_honeynet.api_key import stack_api_key
from ics_honeynet.contracts import HoneyscoreStatus
from ics_honeynet.exposure import (
    NOT_FOUND_MESSAGE,
    Honeyscore,
    HostDocument,
    ScanAnswer,
    ShodanLookupError,
    ShodanRateLimitError,
    ShodanResponseError,
    classify_api_error,
    honeyscore_failed,
    parse_honeyscore,
    parse_scan_answer,
    validate_host,
)
from ics_honeynet.pacing import DynamoSlotStore, PacerUnavailableError, SharedPacer
from ics_honeynet.retries import RetryPolicy, lookup_with_retries
from ics_honeynet.shodan_alert import alert_named, answer_id, parse_monitored_ip_limit


class HttpObserver(HTTPAdapter):
    """Gives the shodan client a timeout (it sets none), waits for each request's shared slot
    (see pacing.py) and remembers what HTTP saw, which the client's APIError drops (status code,
    timeout vs refused). Never records URLs: they hold the key."""

    def __init__(self, timeout: float, pacer: SharedPacer) -> None:
        super().__init__()
        self.timeout = timeout
        self.pacer = pacer
        self.status: int | None = None
        self.transport_error: str | None = None
        # The shodan client turns any exception of a request into "Unable to connect to Shodan":
        # a pace that could not be reserved (no request sent) is kept here to be raised by name.
        self.pacer_error: PacerUnavailableError | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.status, self.transport_error, self.pacer_error = None, None, None
        kwargs["timeout"] = self.timeout
        try:
            self.pacer.wait()
        except (ClientError, BotoCoreError) as error:
            self.pacer_error = PacerUnavailableError(f"the Shodan pace table did not answer: {error}")
            raise self.pacer_error from None
        except PacerUnavailableError as error:
            self.pacer_error = error
            raise
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


class _NotFound:
    """Shodan's "No information available for that IP." (its normal answer for an unknown IP)."""


_NOT_FOUND = _NotFound()


class ShodanClient:
    def __init__(self, api: shodan.Shodan, observer: HttpObserver) -> None:
        self._api, self.observer = api, observer

    @property
    def pacer(self) -> SharedPacer:
        return self.observer.pacer

    def _call(self, call: Callable[..., Any], *args: Any) -> Any:
        """A client call's answer; a typed error, or _NOT_FOUND for Shodan's "No information"."""
        try:
            return call(*args)
        except shodan.APIError as error:
            if self.observer.pacer_error is not None:
                raise self.observer.pacer_error from None  # nothing was sent
            typed = classify_api_error(str(error.value), self.observer.status, self.observer.transport_error)
            if typed is None:
                return _NOT_FOUND
            # `from None`: the chained requests error names the URL, and the URL holds the key.
            raise typed from None

    def host(self, ip: str) -> HostDocument | None:
        """Shodan's host document for ``ip`` (None: Shodan has nothing). After a 429 the pacer
        widens this container's gaps, and the state machine's retry reserves a wider slot."""
        try:
            answer = self._call(self._api.host, ip)
        except ShodanRateLimitError:
            self.pacer.slow_down()
            raise
        return None if answer is _NOT_FOUND else validate_host(answer, ip)

    def scan(self, ip: str) -> ScanAnswer:
        """Ask Shodan to crawl ``ip`` now (``POST /shodan/scan``, one scan credit): it exposes the
        honeypot on purpose (experiment mode only). Paced like every request of the key, never
        retried here: only the state machine retries, and only on a 429 (nothing was scanned)."""
        try:
            answer = self._call(self._api.scan, ip)
        except ShodanRateLimitError:
            self.pacer.slow_down()
            raise
        if answer is _NOT_FOUND:
            raise ShodanResponseError(f"Shodan answered the scan of {ip} with {NOT_FOUND_MESSAGE!r}")
        return parse_scan_answer(answer, ip)

    # -- Shodan Monitor: the network alert (shodan_alert.AlertApi) --------------------------------
    def _monitor(self, call: Callable[..., Any], *args: Any) -> Any:
        """An alert or notifier call, paced like every request of the key; after a 429 the pace
        widens and the state machine retries."""
        try:
            return self._call(call, *args)
        except ShodanRateLimitError:
            self.pacer.slow_down()
            raise

    def monitored_ip_limit(self) -> int:
        return parse_monitored_ip_limit(self._monitor(self._api.info))

    def create_webhook_notifier(self, url: str, description: str) -> str:
        return answer_id(self._monitor(self._api.notifier.create, "webhook", {"url": url}, description), "notifier")

    def create_alert(self, name: str, ips: Sequence[str]) -> str:
        return answer_id(self._monitor(self._api.create_alert, name, list(ips)), "alert")

    def find_alert(self, name: str) -> str | None:
        return alert_named(self._monitor(self._api.alerts), name)

    def edit_alert(self, alert_id: str, ips: Sequence[str]) -> bool:
        try:
            self._monitor(self._api.edit_alert, alert_id, list(ips))
        except ShodanResponseError:
            if self.observer.status == 404:
                return False  # no such alert (removed by hand): the sync creates it again
            raise
        return True

    def enable_triggers(self, alert_id: str, names: Sequence[str]) -> None:
        self._monitor(self._api.enable_alert_trigger, alert_id, ",".join(names))

    def attach_notifier(self, alert_id: str, notifier_id: str) -> None:
        self._monitor(self._api.add_alert_notifier, alert_id, notifier_id)

    def delete_alert(self, alert_id: str) -> None:
        try:
            self._monitor(self._api.delete_alert, alert_id)
        except ShodanResponseError:
            if self.observer.status != 404:  # gone already: what was wanted
                raise

    def honeyscore(self, ip: str) -> Honeyscore:
        """Paced and retried here; if Shodan stays unavailable, the score is UNAVAILABLE
        (unknown), never a silent "no score"."""
        try:
            answer = lookup_with_retries(
                lambda: self._call(self._api.labs.honeyscore, ip), RetryPolicy(), time.sleep, self.pacer.slow_down
            )
        except ShodanLookupError as error:
            return honeyscore_failed(error)
        if answer is _NOT_FOUND:
            return Honeyscore(HoneyscoreStatus.NO_SCORE, reason=NOT_FOUND_MESSAGE)
        return parse_honeyscore(answer)


@cache
def _pacer() -> SharedPacer:
    """One per container; the pace itself is shared by every container (DynamoDB)."""
    store = DynamoSlotStore(
        boto3.client("dynamodb"), os.environ["SHODAN_PACE_TABLE"], os.environ["SHODAN_API_KEY_PARAMETER"]
    )
    rate = float(os.environ.get("SHODAN_REQUESTS_PER_SECOND", "1"))
    return SharedPacer(store, rate, clock=time.time, sleep=time.sleep)


_cached: tuple[str, ShodanClient] | None = None


def client() -> ShodanClient:
    """This container's client, rebuilt only if the key changed."""
    global _cached
    api_key = stack_api_key()  # unreadable: ShodanKeyUnavailableError (the sweep fails, naming the parameter)
    if _cached is None or _cached[0] != api_key:
        api = shodan.Shodan(api_key)
        api.api_rate_limit = 0  # the shared pacer replaces the client's own (per instance) pacing
        observer = HttpObserver(timeout=float(os.environ.get("SHODAN_TIMEOUT_SECONDS", "10")), pacer=_pacer())
        api._session.mount("https://", observer)
        api._session.mount("http://", observer)
        _cached = (api_key, ShodanClient(api, observer))
    return _cached[1]
