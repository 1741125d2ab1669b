"""Keep Shodan requests at most ``rate`` per second, measured start to start.

The shodan client paces itself too, but from the end of one response to the start of the next
request, so every request's latency (and its 0.1/rate polling step) is added on top: at 1
request/s a sweep of N IPs took ~1.07·N s. Pacing start to start, with a small margin so network
jitter does not bunch two requests into one of Shodan's one-second windows, gets within a few
percent of the floor N/rate.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MARGIN = 1.03  # 3% slower than the limit: arrivals stay apart despite jitter
SLOW_DOWN, MAX_SLOW_DOWN = 1.05, 1.5  # after each 429: 5% slower, at most 50% in all


class RequestPacer:
    def __init__(
        self,
        rate_per_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"the request rate must be positive, not {rate_per_s}")
        self.interval = self._base = MARGIN / rate_per_s
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> float:
        """Block until the next request may start; returns the seconds waited."""
        now = self._clock()
        waited = 0.0
        if self._next is not None and now < self._next:
            waited = self._next - now
            self._sleep(waited)
            now = self._next
        self._next = now + self.interval
        return waited

    def slow_down(self) -> None:
        """Shodan answered 429 all the same: this path has more jitter than the margin allows."""
        self.interval = min(self.interval * SLOW_DOWN, self._base * MAX_SLOW_DOWN)
