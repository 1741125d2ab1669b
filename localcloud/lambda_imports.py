"""What Lambda can import for a function: its CodeUri's requirements, its layers', the runtime's.

On AWS a function imports from its deployment package (the CodeUri, with what `sam build`
installed from the CodeUri's requirements.txt), from its layers (each built from its own
requirements.txt: a python/ folder Lambda puts on sys.path) and from the runtime, whose Python
images carry the AWS SDK (Lambda developer guide, "Building Lambda functions with Python":
"The Python runtimes include the AWS SDK for Python (Boto3)"). Anything else fails: at the
cold start, ``Runtime.ImportModuleError`` ("Unable to import module 'HANDLER': No module named
'X'"), or, for an import inside a function, ``ModuleNotFoundError`` when that line runs.

The local cloud runs every handler in one process with this environment's packages, where all of
them import. So before a function runs, the third-party imports of its handler's module graph
(read from the source: ``import``/``from`` statements, module level or inside functions, not
under ``if TYPE_CHECKING``) are checked against the distributions its requirements and its
layers' requirements install (with their dependencies, from the installed metadata) and the
runtime's; ``missing_imports`` names what the function could not import on AWS.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

RUNTIME_PROVIDED = ("boto3",)  # and its dependencies (botocore, s3transfer, jmespath, ...)


@dataclass(frozen=True)
class MissingImport:
    module: str  # the top-level module, e.g. matplotlib
    imported_by: str  # the package module that imports it
    at_init: bool  # imported at module level (fails the cold start) rather than inside a function


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> list[str]:
    """The distributions a requirements file asks for (comments, options and markers aside)."""
    names = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                names.append(_normalise(requirement.name))
    return names


@cache
def _dependencies(name: str) -> frozenset[str]:
    try:
        requires = metadata.distribution(name).requires or []
    except metadata.PackageNotFoundError:
        return frozenset()
    found = set()
    for text in requires:
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.add(_normalise(requirement.name))
    return frozenset(found)


def installed_with(names: list[str] | tuple[str, ...]) -> set[str]:
    """``names`` and everything they depend on (their installed metadata, extras aside)."""
    seen: set[str] = set()
    pending = [_normalise(n) for n in names]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_dependencies(name) - seen)
    return seen


def _module_file(code_dir: Path, module: str) -> Path | None:
    base = code_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, bool]]:
    """(imported module, at module level) of a module's source."""
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, at_init: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child, at_init)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, at_init) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")
                anchor = parts if is_package else parts[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((base, at_init))
            found.extend((f"{base}.{alias.name}", at_init) for alias in node.names)  # a submodule, maybe
        inside = at_init and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, True)
    return found


@cache
def _source_imports(source: str, filename: str, module: str, is_package: bool) -> tuple[tuple[str, bool], ...]:
    """``_imports`` of a module's source; every deploy reads the same modules for each function."""
    return tuple(_imports(ast.parse(source, filename), module, is_package))


def third_party_imports(handler: str, code_dir: Path) -> dict[str, MissingImport]:
    """Every third-party top-level module the handler's module graph (the modules of ``code_dir``
    it reaches) imports, with who imports it first and whether any import is at module level."""
    package = handler.split(".", 1)[0]
    start = handler.rsplit(".", 1)[0]
    pending, seen = [(start, True)], set()
    found: dict[str, MissingImport] = {}
    while pending:
        module, reached_at_init = pending.pop()
        if (module, reached_at_init) in seen:
            continue
        seen.add((module, reached_at_init))
        path = _module_file(code_dir, module)
        if path is None:
            continue
        for name, at_init in _source_imports(path.read_text(), str(path), module, path.name == "__init__.py"):
            top = name.split(".", 1)[0]
            if top == package:
                pending.append((name, reached_at_init and at_init))
                parent = name.rsplit(".", 1)[0]
                if parent != name:
                    pending.append((parent, reached_at_init and at_init))
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                earlier = found.get(top)
                init = reached_at_init and at_init
                if earlier is None or (init and not earlier.at_init):
                    found[top] = MissingImport(top, module, init)
    return found


@cache
def _packages_distributions() -> dict[str, list[str]]:
    """Top-level module -> the distributions providing it. Reading it walks every installed
    distribution's file list (seconds): once per process, as nothing is installed while it runs."""
    return metadata.packages_distributions()


def _distributions_of(module: str) -> set[str]:
    return {_normalise(d) for d in _packages_distributions().get(module, [])}


def missing_imports(handler: str, code_dir: Path, layer_dirs: list[Path]) -> list[MissingImport]:
    """The third-party modules the function's handler imports that neither its CodeUri's
    requirements, nor its layers', nor the runtime install (sorted: cold-start ones first)."""
    files = [code_dir / "requirements.txt", *(layer / "requirements.txt" for layer in layer_dirs)]
    wanted = [name for file in files if file.is_file() for name in requirement_names(file)]
    available = installed_with([*wanted, *RUNTIME_PROVIDED])
    imports = third_party_imports(handler, code_dir).values()
    missing = [m for m in imports if not _distributions_of(m.module) & available]
    return sorted(missing, key=lambda m: (not m.at_init, m.module))


def import_error(handler: str, missing: list[MissingImport]) -> tuple[str, str]:
    """(errorType, errorMessage) Lambda answers for the first missing module."""
    first = missing[0]
    if first.at_init:
        module = handler.rsplit(".", 1)[0]
        return "Runtime.ImportModuleError", f"Unable to import module '{module}': No module named '{first.module}'"
    return "ModuleNotFoundError", f"No module named '{first.module}'"


LAMBDA_UNZIPPED_LIMIT = 250 * 2**20  # function and layers together, unzipped (Lambda quotas: 250 MB)


def installed_size(names: list[str]) -> int:
    """Bytes the distributions ``names`` and their dependencies take installed here: what `sam
    build` puts in a package or a layer for them (same wheels, another platform's binaries)."""
    total = 0
    for name in installed_with(names):
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            continue
        for file in files:
            path = Path(str(file.locate()))
            if path.is_file():
                total += path.stat().st_size
    return total


def unzipped_size(code_dir: Path, layer_dirs: list[Path]) -> dict[str, int]:
    """A function's unzipped size, estimated from what its requirements install here: its
    package (code and requirements) and each layer, against Lambda's 250 MB."""
    code = sum(f.stat().st_size for f in code_dir.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    sizes = {"package": code + installed_size(requirement_names(code_dir / "requirements.txt"))}
    for layer in layer_dirs:
        sizes[layer.name] = installed_size(requirement_names(layer / "requirements.txt"))
    return sizes
