"""One Shodan key, one pace: request slots shared by every invocation and container (pure logic;
the slot store is passed in).

A sweep checks each IP in its own invocation and the Map runs several at once, in several Lambda
containers, so no container can pace Shodan alone: a cold container knows nothing of the
requests the others just sent. The pace lives in one DynamoDB item per key (named by the key's
SSM parameter, never the key): ``nextSlot``, the earliest time the next request may start.
Each request reserves its slot with a single conditional ``UpdateItem``, then sleeps until it:

- while requests are queued (``nextSlot >= now``): ``ADD nextSlot :interval`` under that
  condition, returning the new value; the slot is the old value - the queue only grows;
- when the pacer is idle (no item, or ``nextSlot < now``): ``SET nextSlot = :slot + :interval``
  under the opposite condition, where the slot is ``IDLE_LEAD`` of an interval from now - after a
  pause there is no debt and no burst, and the lead covers the reserving writes themselves (the
  next request's slot is counted from this one's, not from when it was reserved).

DynamoDB applies a write to one item atomically and evaluates its condition against the item as
it is at that moment; a write whose condition fails changes nothing and raises
``ConditionalCheckFailedException`` (DynamoDB Developer Guide: "Condition expressions", and
"Atomic counters" under "Working with items"). So two invocations can never take one slot: the
loser of a race simply tries the other branch. Requests are paced start to start, ``MARGIN``
apart, so network jitter does not bunch two of them into one of Shodan's one-second windows;
after a 429 a container widens the gaps it reserves (``slow_down``), within a bound.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol

MARGIN = 1.03  # 3% slower than the limit: arrivals stay apart despite jitter
SLOW_DOWN, MAX_SLOW_DOWN = 1.05, 1.5  # after each 429: 5% slower, at most 50% in all
MAX_RACES = 20  # lost conditional writes in a row before giving up (each means another request went)
IDLE_LEAD = 0.2  # of an interval: an idle pacer's first slot is this far ahead of the reservation


class PacerUnavailableError(Exception):
    """The shared pace could not be read or written (DynamoDB refused after boto3's retries)."""


class SlotStore(Protocol):
    def queue_behind(self, now: float, interval: float) -> float | None:
        """The slot after the queued ones (reserved), or None if nothing is queued."""

    def start_queue(self, now: float, slot: float, interval: float) -> bool:
        """Reserve ``slot`` when nothing is queued at ``now``; False if another request got there first."""


class SharedPacer:
    def __init__(
        self,
        store: SlotStore,
        rate_per_s: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"the request rate must be positive, not {rate_per_s}")
        self.interval = self._base = MARGIN / rate_per_s
        self._store, self._clock, self._sleep = store, clock, sleep

    def reserve(self) -> float:
        """Reserve the next request slot for this key; returns it (seconds since the epoch)."""
        for _ in range(MAX_RACES):
            now = self._clock()
            slot = self._store.queue_behind(now, self.interval)
            if slot is not None:
                return slot
            slot = now + IDLE_LEAD * self.interval
            if self._store.start_queue(now, slot, self.interval):
                return slot
        raise PacerUnavailableError(f"lost {MAX_RACES} races for a Shodan request slot in a row")

    def wait(self) -> float:
        """Block until this request's slot; returns the seconds waited."""
        waited = max(0.0, self.reserve() - self._clock())
        if waited:
            self._sleep(waited)
        return waited

    def slow_down(self) -> None:
        """Shodan answered 429 all the same: this path has more jitter than the margin allows."""
        self.interval = min(self.interval * SLOW_DOWN, self._base * MAX_SLOW_DOWN)


def _number(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


class DynamoSlotStore:
    """The slot item in DynamoDB: ``{"pacer": <key name>, "nextSlot": <epoch seconds>}``."""

    def __init__(self, client: Any, table: str, key_name: str) -> None:
        self._client, self._table, self._key = client, table, {"pacer": {"S": key_name}}

    def queue_behind(self, now: float, interval: float) -> float | None:
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="ADD nextSlot :interval",
                ConditionExpression="nextSlot >= :now",
                ExpressionAttributeValues={
                    ":interval": {"N": str(_number(interval))},
                    ":now": {"N": str(_number(now))},
                },
                ReturnValues="UPDATED_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return float(answer["Attributes"]["nextSlot"]["N"]) - interval

    def start_queue(self, now: float, slot: float, interval: float) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET nextSlot = :next",
                ConditionExpression="attribute_not_exists(nextSlot) OR nextSlot < :now",
                ExpressionAttributeValues={
                    ":next": {"N": str(_number(slot + interval))},
                    ":now": {"N": str(_number(now))},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
