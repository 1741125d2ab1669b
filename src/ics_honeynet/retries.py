"""Retrying one Shodan request inside an invocation (pure: no AWS, no network, no clock).

The host lookup of an IP is retried by the state machine (its Retry on the check's error names,
visible in the console). The honeyscore is asked inside the same invocation, after the host
lookup, so its retries happen here, with the same policy shape:

- Shodan's rate limit: back off and try again (up to ``rate_limit_tries``);
- Shodan down, slow or 5xx: up to ``unavailable_retries`` more tries;
- a rejected key: raised at once (every other request would fail the same way).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ics_honeynet.exposure import ShodanAuthError, ShodanRateLimitError, ShodanUnavailableError


@dataclass(frozen=True)
class RetryPolicy:
    rate_limit_tries: int = 8
    unavailable_retries: int = 3
    base_delay_s: float = 2.0
    # A 429 despite the shared pacer is jitter: one Shodan window (1 s) is enough at first;
    # repeated ones back off exponentially from there.
    rate_limit_base_s: float = 1.0
    max_delay_s: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random, base: float | None = None) -> float:
        """Exponential backoff with full jitter (as the ASL's Retry with JitterStrategy FULL)."""
        ceiling = min(self.max_delay_s, (self.base_delay_s if base is None else base) * 2 ** (attempt - 1))
        return float(rng() * ceiling)


def lookup_with_retries[T](
    lookup: Callable[[], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    on_rate_limited: Callable[[], None] = lambda: None,
) -> T:
    """One Shodan request under the retry policy; raises the last error when retries run out.
    ``on_rate_limited`` lets the request pacer slow down after a 429."""
    rate_limited = unavailable = 0
    while True:
        try:
            return lookup()
        except ShodanAuthError:
            raise
        except ShodanRateLimitError:
            rate_limited += 1
            on_rate_limited()
            if rate_limited >= policy.rate_limit_tries:
                raise
            sleep(policy.delay(rate_limited, base=policy.rate_limit_base_s))
        except ShodanUnavailableError:
            unavailable += 1
            if unavailable > policy.unavailable_retries:
                raise
            sleep(policy.delay(unavailable))
