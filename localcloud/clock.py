"""The local cloud's wall clock: what "now" is for the parts of AWS it plays itself.

ECS stamps a task's ``startedAt``/``stoppedAt``, Step Functions a state's ``EnteredTime``,
Firehose an object's arrival time (its S3 prefix), the local Shodan its banners; the handlers
read ``datetime.now``. By default that is real time. A scenario played over simulated days
(``make report``: honeypots indexed on day 1, attacks counted per hour) installs the local
cloud's scaled clock here (``reading``), and moves it forward between steps; every one of those
stamps then agrees with the others, as they do on AWS, where they all read one real clock.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float: ...


_source: Clock = time


def now() -> datetime:
    """The local cloud's current time (aware, UTC)."""
    return datetime.fromtimestamp(_source.time(), UTC)


@contextlib.contextmanager
def reading(clock: Clock) -> Iterator[None]:
    """Inside the block, ``now()`` reads ``clock``."""
    global _source
    saved, _source = _source, clock
    try:
        yield
    finally:
        _source = saved
