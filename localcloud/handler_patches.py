"""What the local cloud changes around the real handlers, from outside: their clock and where the
``shodan`` client connects. Production code has no knob for either.

- ``ScaledClock``: the ASL's Retry and Wait intervals are scaled by the local cloud's time scale
  (moto_patches/stepfunctions.py); the handlers' own waits must be too (the lookup's shared pacer, its honeyscore
  backoff, the history store's DynamoDB backoff). Each module of a container's copy of the
  package that uses the ``time`` module gets a clock running ``1/scale`` times faster than real time instead: its
  sleeps are scaled and its ``time()``/``monotonic()`` advance to match, so the Shodan pace the
  stack is deployed with (``ShodanRequestsPerSecond``) holds on the scaled clock, against a local
  Shodan that enforces its limit on the same scaled clock. Every container shares one clock (the
  pace's slots in DynamoDB are compared across containers). For a scenario played over
  simulated days (``make report``) their ``datetime.now`` reads it too (``ClockPatches(wall=True)``),
  and ``advance`` moves it forward between steps, as the rest of the local cloud's wall clock
  (localcloud/clock.py).
- ``routing_shodan_to``: the real ``shodan`` client would call https://api.shodan.io; every
  client built while the block runs calls the local Shodan instead (its ``base_url``, set after
  the client's own ``__init__``). A canary test (tests/localcloud/test_moto_patch_canaries.py)
  checks the client still keeps its endpoint there.
- ``routing_internetdb_to``: the InternetDB client asks https://internetdb.shodan.io/{ip} with
  ``requests``; every request to that origin goes to the local InternetDB instead, rewritten
  where ``requests`` hands it to its transport (``HTTPAdapter.send``, as a resolver would send
  the name elsewhere): the client's URL, TLS setting and redirect policy are the production ones.
  A canary test checks that ``requests`` still sends through there.
"""

from __future__ import annotations

import contextlib
import time
import types
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any
from unittest import mock


class ScaledClock:
    """Stands in for the ``time`` module in a handler's modules."""

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"the time scale must be positive, not {scale}")
        self.scale = scale
        self._wall0, self._mono0 = time.time(), time.monotonic()
        self._skipped = 0.0  # seconds jumped over by advance()

    def _elapsed(self) -> float:
        return (time.monotonic() - self._mono0) / self.scale + self._skipped

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (nothing sleeps through them): a scenario's quiet hours between
        two of its steps. Only between steps: a wait in progress would end early."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds} s")
        self._skipped += seconds

    def advance_to(self, moment: datetime) -> None:
        """Jump to ``moment`` if it is ahead (a step's scheduled time)."""
        self.advance(max(0.0, moment.timestamp() - self.time()))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def time(self) -> float:
        return self._wall0 + self._elapsed()

    def monotonic(self) -> float:
        return self._mono0 + self._elapsed()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds) * self.scale)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class _AnyDatetime(type):
    """isinstance(x, ClockDatetime) holds for every datetime (botocore's included), as the
    handler's ``isinstance(x, datetime)`` would."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, datetime)


def datetime_reading(clock: ScaledClock) -> type[datetime]:
    """``datetime`` whose ``now()`` reads ``clock`` (everything else is datetime's)."""

    class ClockDatetime(datetime, metaclass=_AnyDatetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:
            return datetime.fromtimestamp(clock.time(), tz)

    return ClockDatetime


class ClockPatches:
    """Puts ``clock`` in place of ``time`` in a function's modules (and, with ``wall``, a
    ``datetime`` reading it in place of ``datetime``); ``restore`` puts them back."""

    def __init__(self, clock: ScaledClock, *, wall: bool = False) -> None:
        self.clock = clock
        self._datetime = datetime_reading(clock) if wall else None
        self._saved: list[tuple[types.ModuleType, str, Any]] = []

    def apply(self, modules: Iterable[types.ModuleType]) -> None:
        """``modules``: one container's copy of the package (see localcloud.functions.Container)."""
        for module in modules:
            if getattr(module, "time", None) is time:
                self._saved.append((module, "time", module.time))
                module.time = self.clock  # type: ignore[attr-defined]
            if self._datetime is not None and getattr(module, "datetime", None) is datetime:
                self._saved.append((module, "datetime", datetime))
                module.datetime = self._datetime  # type: ignore[attr-defined]

    def restore(self) -> None:
        for module, name, original in reversed(self._saved):
            setattr(module, name, original)
        self._saved.clear()


@contextlib.contextmanager
def routing_shodan_to(url: str | Callable[[], str]) -> Iterator[None]:
    """Every ``shodan.Shodan`` built in the block talks to ``url`` (or what ``url()`` says then)."""
    import shodan

    original = shodan.Shodan.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.base_url = url() if callable(url) else url

    with mock.patch.object(shodan.Shodan, "__init__", init):
        yield


INTERNETDB_ORIGIN = "https://internetdb.shodan.io"
CENSYS_ORIGIN = "https://api.platform.censys.io"


@contextlib.contextmanager
def routing_origin_to(origin: str, url: str | Callable[[], str]) -> Iterator[None]:
    """Every request to ``origin`` in the block goes to ``url`` (or what ``url()`` says then)."""
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send

    def send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(request.url, str) and request.url.startswith(origin + "/"):
            target = url() if callable(url) else url
            request.url = target.rstrip("/") + request.url.removeprefix(origin)
        return original(self, request, *args, **kwargs)

    with mock.patch.object(HTTPAdapter, "send", send):
        yield


def routing_internetdb_to(url: str | Callable[[], str]) -> contextlib.AbstractContextManager[None]:
    """Every request to InternetDB in the block goes to ``url``."""
    return routing_origin_to(INTERNETDB_ORIGIN, url)


def routing_censys_to(url: str | Callable[[], str]) -> contextlib.AbstractContextManager[None]:
    """Every request to Censys's Platform API in the block goes to ``url``."""
    return routing_origin_to(CENSYS_ORIGIN, url)
