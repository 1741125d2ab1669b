"""Find and load the project's Lambda functions, as SAM would package them.

One place maps a function folder (``functions/<name>``) to an importable handler. Each function
folder is its own Lambda package: its domain modules are imported as top-level siblings of
``app.py`` (that is how Lambda's ``/var/task`` works), so they must have unique names across
functions. Tests and the local cloud both load handlers through :func:`load_handler`.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"

Handler = Callable[[dict[str, Any], Any], Any]

_loaded: dict[str, ModuleType] = {}


def function_dir(name: str) -> Path:
    path = FUNCTIONS_DIR / name
    if not (path / "app.py").is_file():
        raise FileNotFoundError(f"no Lambda function at {path}/app.py")
    return path


def load_app(name: str) -> ModuleType:
    """Import ``functions/<name>/app.py`` once, as module ``<name>_app``, with its folder on sys.path."""
    if name in _loaded:
        return _loaded[name]
    folder = function_dir(name)
    if str(folder) not in sys.path:
        # Lambda puts the package root on sys.path; sibling domain modules import as top-level.
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(f"{name}_app", folder / "app.py")
    if spec is None or spec.loader is None:  # pragma: no cover - only on a broken checkout
        raise ImportError(f"cannot load {folder}/app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    _loaded[name] = module
    return module


def load_handler(name: str, handler: str = "lambda_handler") -> Handler:
    return getattr(load_app(name), handler)
