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

from ics_honeynet.engine_http import paced_get
from ics_honeynet.internetdb import (
    INTERNETDB,
    INTERNETDB_URL,
    InternetDbHost,
    read_answer,
)
from ics_honeynet.pacing import DynamoSlotStore, SharedPacer

PACER_NAME = "internetdb.shodan.io"  # its item in the pace table (the Shodan key's is named by its parameter)
USER_AGENT = "ics-honeynet-sweep"


class InternetDbClient:
    def __init__(self, session: requests.Session, pacer: SharedPacer, timeout: float) -> None:
        self._session, self.pacer, self.timeout = session, pacer, timeout

    def host(self, ip: str) -> InternetDbHost | None:
        """InternetDB's document for ``ip`` (None: it has nothing on the IP)."""
        return paced_get(
            INTERNETDB,
            self._session,
            self.pacer,
            f"{INTERNETDB_URL}/{ip}",
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=self.timeout,
            read=lambda status, body: read_answer(ip, status, body),
        )


@cache
def client() -> InternetDbClient:
    """This container's client; the pace itself is shared by every container (DynamoDB)."""
    store = DynamoSlotStore(boto3.client("dynamodb"), os.environ["SHODAN_PACE_TABLE"], PACER_NAME)
    rate = float(os.environ.get("INTERNETDB_REQUESTS_PER_SECOND", "1"))
    pacer = SharedPacer(store, rate, clock=time.time, sleep=time.sleep)
    return InternetDbClient(requests.Session(), pacer, float(os.environ.get("INTERNETDB_TIMEOUT_SECONDS", "5")))
