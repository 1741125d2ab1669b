"""The InternetDB client: one GET per IP over TLS, paced, with a timeout, its answers typed
(internetdb.py's errors, an InternetDbHost).

InternetDB needs no key and publishes no rate limit; clients keep to about 1 request/s. Its pace
is the shared pace of pacing.py (every check, in every container), in the same table as the
Shodan key's, under its own name (``PACER_NAME``): InternetDB's requests never take the key's
slots, nor the key's theirs. A 429 widens this container's pace; the state machine retries.

One client per Lambda container (module globals). Requests verifies TLS certificates; redirects
are never followed (an answer that is not InternetDB's own is an error, not something to chase).
"""

from __future__ import annotations

import os
import time
from functools import cache

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.internetdb import (
    INTERNETDB_URL,
    MAX_BODY_BYTES,
    InternetDbHost,
    InternetDbRateLimitError,
    InternetDbUnavailableError,
    read_answer,
)
from ics_honeynet.pacing import DynamoSlotStore, PacerUnavailableError, SharedPacer

PACER_NAME = "internetdb.shodan.io"  # its item in the pace table (the Shodan key's is named by its parameter)
USER_AGENT = "ics-honeynet-sweep"


class InternetDbClient:
    def __init__(self, session: requests.Session, pacer: SharedPacer, timeout: float) -> None:
        self._session, self.pacer, self.timeout = session, pacer, timeout

    def host(self, ip: str) -> InternetDbHost | None:
        """InternetDB's document for ``ip`` (None: it has nothing on the IP)."""
        try:
            self.pacer.wait()
        except (ClientError, BotoCoreError) as error:
            raise PacerUnavailableError(f"the InternetDB pace table did not answer: {error}") from None
        try:
            with self._session.get(
                f"{INTERNETDB_URL}/{ip}",
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            ) as response:
                status, body = response.status_code, _bounded_body(response)
        except requests.Timeout:
            raise InternetDbUnavailableError(f"InternetDB did not answer within {self.timeout:g} s") from None
        except (requests.ConnectionError, OSError):
            raise InternetDbUnavailableError("could not connect to InternetDB") from None
        except requests.RequestException as error:
            raise InternetDbUnavailableError(f"InternetDB request failed: {type(error).__name__}") from None
        try:
            return read_answer(ip, status, body)
        except InternetDbRateLimitError:
            self.pacer.slow_down()
            raise


def _bounded_body(response: requests.Response) -> bytes:
    """At most MAX_BODY_BYTES + 1 bytes of the body (one more tells read_answer it was larger)."""
    body = b""
    for chunk in response.iter_content(chunk_size=16 * 1024):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            break
    return body[: MAX_BODY_BYTES + 1]


@cache
def client() -> InternetDbClient:
    """This container's client; the pace itself is shared by every container (DynamoDB)."""
    store = DynamoSlotStore(boto3.client("dynamodb"), os.environ["SHODAN_PACE_TABLE"], PACER_NAME)
    rate = float(os.environ.get("INTERNETDB_REQUESTS_PER_SECOND", "1"))
    pacer = SharedPacer(store, rate, clock=time.time, sleep=time.sleep)
    return InternetDbClient(requests.Session(), pacer, float(os.environ.get("INTERNETDB_TIMEOUT_SECONDS", "5")))
