"""Load the project's Lambda handlers as Lambda runs them: from the functions' CodeUri.

The four functions share one CodeUri (``src/``, the ``ics_honeynet`` package) and differ by their
``Handler`` (``ics_honeynet.handlers.<name>.lambda_handler``). Lambda puts the CodeUri on
``sys.path`` of each container and imports the handler's module there: every container has its
own copy of the package's modules (its cached clients, its Shodan pacer). Here all containers
live in one process, so :func:`load_container` imports a private copy of the ``ics_honeynet``
module graph per container (``sys.modules`` is swapped under a lock while it imports). Container
0 is the ordinary import that tests share. Tests and the local cloud both load handlers here.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from localcloud.constants import PROJECT_ROOT

SOURCE_DIR = PROJECT_ROOT / "src"  # the functions' CodeUri

Handler = Callable[[dict[str, Any], Any], Any]


class FunctionLog:
    """Where a function's stdout logs go while the local cloud routes stdout.

    Every line is kept (the local cloud shows them, tests search them) and, while ``echo`` is
    on, also written to whatever ``sys.stdout`` is at that moment (so pytest's capsys sees it).
    """

    echo = True

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *complete, self._partial = self._partial.split("\n")
            self.lines.extend(complete)
        if FunctionLog.echo:
            _real_stdout().write(text)
        return len(text)

    def flush(self) -> None:
        if FunctionLog.echo:
            _real_stdout().flush()


FUNCTION_LOGS: dict[str, FunctionLog] = {}


def function_log(name: str) -> FunctionLog:
    return FUNCTION_LOGS.setdefault(name, FunctionLog(name))


class _StdoutRouter:
    """sys.stdout while the local cloud runs: a handler's prints (Powertools metrics) go to its
    FunctionLog, by thread, since Map iterations run handlers concurrently."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.local = threading.local()

    def write(self, text: str) -> int:
        target = getattr(self.local, "log", None)
        return (target or self.real).write(text)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


_router: _StdoutRouter | None = None


def _real_stdout() -> Any:
    return _router.real if _router is not None else sys.stdout


@contextlib.contextmanager
def stdout_routed_to_function_logs() -> Iterator[None]:
    global _router
    router = _StdoutRouter(sys.stdout)
    _router, sys.stdout = router, router  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, _router = router.real, None


def _bind_loggers_to_router(module: ModuleType) -> None:
    """Powertools loggers write to the stream that was sys.stdout when Powertools was first
    imported; point this container's loggers at the router so their lines reach its log."""
    from aws_lambda_powertools import Logger

    for value in vars(module).values():
        if isinstance(value, Logger):
            handler = value.registered_handler
            # Not setStream(): it flushes the old stream, which may be a closed capture by now.
            with handler.lock:  # type: ignore[union-attr]
                handler.stream = _router  # type: ignore[attr-defined]


@contextlib.contextmanager
def writing_to(log: FunctionLog | None) -> Iterator[None]:
    """Route this thread's stdout to ``log`` while a handler runs."""
    if _router is None or log is None:
        yield
        return
    previous = getattr(_router.local, "log", None)
    _router.local.log = log
    try:
        yield
    finally:
        _router.local.log = previous


PACKAGE = "ics_honeynet"


def handler_name(function: str) -> str:
    """The template's ``Handler`` of function ``function`` (a module of ics_honeynet.handlers)."""
    return f"{PACKAGE}.handlers.{function}.lambda_handler"


def function_of(handler: str) -> str:
    """``ics_honeynet.handlers.shodan_lookup.lambda_handler`` -> ``shodan_lookup`` (its log's name)."""
    return handler.rsplit(".", 2)[-2]


@dataclass(frozen=True)
class Container:
    """One Lambda container: the handler and this container's own copies of the package's modules."""

    number: int
    handler: Handler
    modules: dict[str, ModuleType]

    def module(self, name: str) -> ModuleType:
        """This container's ``ics_honeynet.<name>`` (e.g. ``shodan_client``, ``handlers.shodan_lookup``)."""
        return self.modules[f"{PACKAGE}.{name}"]


_containers: dict[tuple[str, int], Container] = {}
_import_lock = threading.Lock()


def _package_modules() -> dict[str, ModuleType]:
    return {k: m for k, m in list(sys.modules.items()) if k == PACKAGE or k.startswith(f"{PACKAGE}.")}


def _import_private_copy(module_name: str) -> dict[str, ModuleType]:
    """Import ``module_name`` with a fresh copy of every ``ics_honeynet`` module it needs, and take
    that copy out of ``sys.modules`` again: the modules already imported stay as they were."""
    with _import_lock:
        stashed = _package_modules()
        for name in stashed:
            del sys.modules[name]
        try:
            importlib.import_module(module_name)
        finally:
            fresh = _package_modules()
            for name in fresh:
                del sys.modules[name]
            sys.modules.update(stashed)
    return fresh


def load_container(handler: str, container: int = 0, code_dir: Path = SOURCE_DIR) -> Container:
    """A container of the function whose ``Handler`` is ``handler`` (or a function's short name,
    e.g. ``shodan_lookup``), its code from ``code_dir`` (the CodeUri). Container 0 is the ordinary
    import, shared with whatever else imports the package; any other number is a cold container:
    a private copy of the package, as a second Lambda container would have."""
    if "." not in handler:
        handler = handler_name(handler)
    key = (handler, container)
    if key in _containers:
        return _containers[key]
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))  # Lambda's /var/task: the CodeUri's contents
    module_name, _, attribute = handler.rpartition(".")
    # With the local cloud's stdout router in place, Powertools binds its log handler to the
    # router, which sends each thread's writes to the function that thread is running.
    with writing_to(function_log(function_of(handler))):
        if container == 0:
            modules = {module_name: importlib.import_module(module_name)}
            modules = {**_package_modules(), **modules}
        else:
            modules = _import_private_copy(module_name)
    handler_module = modules[module_name]
    if _router is not None:
        _bind_loggers_to_router(handler_module)
    loaded = Container(container, getattr(handler_module, attribute), modules)
    _containers[key] = loaded
    return loaded


def load_app(name: str, container: int = 0) -> ModuleType:
    """The handler module of function ``name`` (e.g. ``shodan_lookup``) in ``container``."""
    return load_container(name, container).module(f"handlers.{name}")


def load_handler(name: str, container: int = 0) -> Handler:
    return load_container(name, container).handler
