"""Mutants: a copy of the project's template (or its state machine) with one defect put back, beside
the code it deploys, for a local cloud to deploy (tests/localcloud/test_aws_mutations.py,
tests/integration/test_fault_mutations.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localcloud.constants import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "template.yaml"
ASL = PROJECT_ROOT / "statemachine" / "sweep.asl.json"


def template_copy(tmp_path: Path, text: str) -> Path:
    """``text`` as the project's template, beside the code it deploys (folders made already in
    ``tmp_path`` are the mutant's own)."""
    for folder in PROJECT_ROOT.iterdir():
        if folder.is_dir() and not folder.name.startswith(".") and not (tmp_path / folder.name).exists():
            (tmp_path / folder.name).symlink_to(folder)
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


def asl_mutant(tmp_path: Path, old: str, new: str) -> Path:
    """The project's template with one defect put back into its state machine definition."""
    text = ASL.read_text()
    assert text.count(old) == 1, f"the fixed definition no longer contains: {old}"
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / ASL.name).write_text(text.replace(old, new))
    return template_copy(tmp_path, TEMPLATE.read_text())


def mutant(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the project's template with one defect put back."""
    text = TEMPLATE.read_text()
    assert text.count(old) == 1, f"the fixed template no longer contains: {old}"
    return template_copy(tmp_path, text.replace(old, new))


def asl_changed(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """The project's template with its state machine definition changed by ``change`` (which
    edits the parsed definition in place)."""
    definition = json.loads(ASL.read_text())
    change(definition)
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / ASL.name).write_text(json.dumps(definition, indent=2))
    return template_copy(tmp_path, TEMPLATE.read_text())


def state(definition: dict[str, Any], name: str) -> dict[str, Any]:
    """The state ``name`` wherever it is (inside a Map's ItemProcessor too)."""
    states = definition["States"]
    if name in states:
        return states[name]
    for outer in states.values():
        if "ItemProcessor" in outer:
            try:
                return state(outer["ItemProcessor"], name)
            except KeyError:
                continue
    raise KeyError(name)
