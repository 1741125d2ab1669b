"""The Censys client: the token from SSM, this month's lookup budget, one paced GET per IP over
TLS, its answers typed (censys.py's errors, a CensysHost).

The token (a Censys Platform personal access token) is read from the SSM SecureString named by
``CENSYS_TOKEN_PARAMETER``, decrypted here only, cached per container, and sent only as the
``Authorization`` header: never logged, never in an error. Censys publishes no request rate for
the Platform API (its legacy API allowed free accounts one request per 2.5 s); we keep to
``CENSYS_REQUESTS_PER_SECOND``, shared by every container through the pace table under its own
name (``PACER_NAME``). A 429 widens this container's pace; the state machine retries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import boto3
import requests

from ics_honeynet.api_key import cached_secret, read_secret, stack_region
from ics_honeynet.censys import (
    CENSYS,
    CENSYS_HOST_URL,
    CensysHost,
    CensysTokenUnavailableError,
    read_answer,
)
from ics_honeynet.engine_http import paced_get
from ics_honeynet.lookup_budget import MonthlyBudget
from ics_honeynet.pacing import DynamoSlotStore, SharedPacer

PACER_NAME = "api.platform.censys.io"  # its items in the pace table: the pace, and each month's budget
USER_AGENT = "ics-honeynet-sweep"


def read_token(get: Callable[[str], object], name: str, region: str) -> str:
    """The token from SSM, or CensysTokenUnavailableError naming the parameter to fix."""
    fix = (
        f"store a Censys Platform personal access token as a SecureString in SSM parameter {name} "
        f"in region {region}, or deploy with CensysTokenParameter empty (Censys off)"
    )
    return read_secret(get, name, what="the Censys token", fix=fix, error=CensysTokenUnavailableError)


@dataclass
class CensysClient:
    session: requests.Session
    pacer: SharedPacer
    budget: MonthlyBudget
    token: str
    timeout: float

    def host(self, ip: str) -> CensysHost | None:
        """Censys's host record for ``ip`` (None: Censys has no such host)."""
        return paced_get(
            CENSYS,
            self.session,
            self.pacer,
            f"{CENSYS_HOST_URL}/{ip}",
            headers={"Accept": "application/json", "Authorization": f"Bearer {self.token}", "User-Agent": USER_AGENT},
            timeout=self.timeout,
            read=lambda status, body: read_answer(ip, status, body),
        )

    def spend_lookup(self, now: datetime) -> bool:
        """One lookup of this month's budget; False: spent, do not ask."""
        return self.budget.spend_one(now)


@cache
def _container_parts() -> tuple[requests.Session, SharedPacer, MonthlyBudget]:
    dynamodb, table = boto3.client("dynamodb"), os.environ["SHODAN_PACE_TABLE"]
    rate = float(os.environ.get("CENSYS_REQUESTS_PER_SECOND", "0.4"))
    pacer = SharedPacer(DynamoSlotStore(dynamodb, table, PACER_NAME), rate, clock=time.time, sleep=time.sleep)
    budget = MonthlyBudget(dynamodb, table, PACER_NAME, int(os.environ.get("CENSYS_MONTHLY_LOOKUPS", "80")))
    return requests.Session(), pacer, budget


def client() -> CensysClient:
    """This container's client (its token re-read from SSM's cache each time: a rotated token is
    used within minutes); CensysTokenUnavailableError if the token cannot be read."""
    token = read_token(cached_secret, os.environ["CENSYS_TOKEN_PARAMETER"], stack_region())
    session, pacer, budget = _container_parts()
    return CensysClient(session, pacer, budget, token, float(os.environ.get("CENSYS_TIMEOUT_SECONDS", "10")))
