"""The exposure table (DynamoDB): each IP's history (exposure_history.IpHistory), read and
written in batches - one BatchGetItem per 100 IPs and one BatchWriteItem per 25, instead of a
state transition per IP. A boto3 DynamoDB client is passed in."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ics_honeynet.exposure_history import IpHistory

BATCH_GET, BATCH_WRITE, UNPROCESSED_TRIES = 100, 25, 5
UNPROCESSED_FIRST_WAIT_S = 0.1  # doubled after each try that left items unprocessed
_to_dynamo, _from_dynamo = TypeSerializer(), TypeDeserializer()


class HistoryNotSaved(RuntimeError):
    """DynamoDB kept refusing (or not returning) some items after retries."""


def _chunks[T](items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unprocessed_wait_ceiling(attempt: int) -> float:
    """The longest wait after try ``attempt`` (0-based) left part of a batch unprocessed."""
    return float(UNPROCESSED_FIRST_WAIT_S * 2**attempt)


def _backoff(attempt: int) -> None:
    # DynamoDB throttled part of the batch: exponential backoff with full jitter, as its guide
    # advises for unprocessed items ("Error retries and exponential backoff").
    time.sleep(random.random() * unprocessed_wait_ceiling(attempt))  # noqa: S311 - jitter, not a secret


def read_histories(dynamodb: Any, table: str, ips: Iterable[str]) -> dict[str, IpHistory]:
    histories: dict[str, IpHistory] = {}
    for chunk in _chunks(sorted(set(ips)), BATCH_GET):
        request: dict[str, Any] = {table: {"Keys": [{"ip": {"S": ip}} for ip in chunk], "ConsistentRead": True}}
        for attempt in range(UNPROCESSED_TRIES):
            response = dynamodb.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(table, []):
                plain = {k: _from_dynamo.deserialize(v) for k, v in item.items()}
                histories[plain["ip"]] = IpHistory.from_item(plain)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            _backoff(attempt)
        if request:
            raise HistoryNotSaved(f"DynamoDB did not return {len(request[table]['Keys'])} item(s) after retries")
    return histories


def write_histories(dynamodb: Any, table: str, histories: Iterable[IpHistory]) -> None:
    puts = [{"PutRequest": {"Item": {k: _to_dynamo.serialize(v) for k, v in h.to_item().items()}}} for h in histories]
    for chunk in _chunks(puts, BATCH_WRITE):
        request: dict[str, Any] = {table: chunk}
        for attempt in range(UNPROCESSED_TRIES):
            request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
            if not request:
                break
            _backoff(attempt)
        if request:
            raise HistoryNotSaved(f"DynamoDB did not store {len(request[table])} item(s) after retries")
