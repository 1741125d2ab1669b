"""Find and load the project's Lambda functions, as SAM would package them.

One place maps a function folder (``functions/<name>``) to an importable handler. Each function
folder is its own Lambda package: its domain modules are imported as top-level siblings of
``app.py`` (that is how Lambda's ``/var/task`` works), so they must have unique names across
functions. Tests and the local cloud both load handlers through :func:`load_handler`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from localcloud.constants import PROJECT_ROOT

FUNCTIONS_DIR = PROJECT_ROOT / "functions"

Handler = Callable[[dict[str, Any], Any], Any]

_loaded: dict[str, ModuleType] = {}


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


def function_dir(name: str) -> Path:
    path = FUNCTIONS_DIR / name
    if not (path / "app.py").is_file():
        raise FileNotFoundError(f"no Lambda function at {path}/app.py")
    return path


def load_app(name: str, container: int = 0) -> ModuleType:
    """Import ``functions/<name>/app.py`` as module ``<name>_app`` (container 0) with its folder on
    sys.path. Another ``container`` number imports a separate copy: its own module globals
    (cached clients), as a second Lambda container would have."""
    key = name if container == 0 else f"{name}#{container}"
    if key in _loaded:
        return _loaded[key]
    folder = function_dir(name)
    if str(folder) not in sys.path:
        # Lambda puts the package root on sys.path; sibling domain modules import as top-level.
        sys.path.insert(0, str(folder))
    module_name = f"{name}_app" if container == 0 else f"{name}_app_container{container}"
    spec = importlib.util.spec_from_file_location(module_name, folder / "app.py")
    if spec is None or spec.loader is None:  # pragma: no cover - only on a broken checkout
        raise ImportError(f"cannot load {folder}/app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    # With the local cloud's stdout router in place, Powertools binds its log handler to the
    # router, which sends each thread's writes to the function that thread is running.
    with writing_to(function_log(name)):
        spec.loader.exec_module(module)
    if _router is not None:
        _bind_loggers_to_router(module)
    _loaded[key] = module
    return module


def load_handler(name: str, handler: str = "lambda_handler", container: int = 0) -> Handler:
    return getattr(load_app(name, container), handler)
