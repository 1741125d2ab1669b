"""The honeypot task's init container: render this task's persona into the template volume.

It runs in T-Pot's Conpot image (root, before Conpot), as ``python3 -c "$PREPARE_PERSONA"``: the
program tools/persona_blob.py builds from this module, ``persona`` and ``conpot_templates``
(standard library only, Python 3.11 syntax: the image's). No image is built.

Environment (the task definition's):
- ``PERSONA_TEMPLATE``: Conpot's template the task serves (``default``, ``IEC104``, ...).
- ``PERSONA_SEED``: empty for a persona per task (seeded by the task's ARN, read from the task
  metadata endpoint), a name to pin one persona for repeatable experiments, or ``stock`` to serve
  Conpot's stock template unchanged (a control).
- ``PERSONA_DIR``: the task volume Conpot starts from (``--template DIR``, its working directory:
  cpppo reads ``cpppo.cfg`` there).
- ``ECS_CONTAINER_METADATA_URI_V4``: injected by Fargate (platform 1.4.0+) into every container;
  ``GET $ECS_CONTAINER_METADATA_URI_V4/task`` answers the task's metadata, ``TaskARN`` included
  (ECS developer guide, "Amazon ECS task metadata endpoint version 4 for tasks on Fargate").

It prints one line naming the persona (the task's console log: the sweep derives the same label
from the same seed) and exits 0, or prints why it could not and exits 1: Conpot then never starts
(``DependsOn: SUCCESS``) and the deployment fails with the reason, rather than serving a default.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from ics_honeynet.conpot_templates import TEMPLATES, prepare_template
from ics_honeynet.persona import STOCK, persona_for, persona_label, persona_seed

METADATA_ATTEMPTS = 5  # the endpoint answers from the container's start; a retry covers a blip


class InitError(Exception):
    """Why the persona could not be rendered (printed; the container exits 1)."""


def task_arn(metadata_uri: str, attempts: int = METADATA_ATTEMPTS, pause: float = 1.0) -> str:
    """The task's ARN from the task metadata endpoint v4."""
    if not metadata_uri.startswith("http://"):
        raise InitError(f"ECS_CONTAINER_METADATA_URI_V4 is not an http URI: {metadata_uri!r} (Fargate 1.4.0+ sets it)")
    last = ""
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(f"{metadata_uri}/task", timeout=5) as answer:  # noqa: S310 -- checked above
                arn = json.load(answer).get("TaskARN")
            if isinstance(arn, str) and arn.startswith("arn:"):
                return arn
            last = f"no TaskARN in the task metadata: {arn!r}"
        except (OSError, ValueError) as error:  # URLError is an OSError; bad JSON a ValueError
            last = f"{type(error).__name__}: {error}"
        if attempt + 1 < attempts:
            time.sleep(pause)
    raise InitError(f"task metadata endpoint {metadata_uri}/task: {last}")


def stock_templates() -> Path:
    """The image's ``conpot/templates`` (found without importing Conpot: its import is heavy)."""
    spec = importlib.util.find_spec("conpot")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise InitError("the conpot package is not installed in this image")
    return Path(locations[0]) / "templates"


def main(environ: Mapping[str, str]) -> int:
    try:
        template = environ.get("PERSONA_TEMPLATE", "")
        if template not in TEMPLATES:
            raise InitError(f"PERSONA_TEMPLATE {template!r} is not one of {', '.join(TEMPLATES)}")
        directory = Path(environ.get("PERSONA_DIR", ""))
        if not directory.is_absolute() or not directory.is_dir():
            raise InitError(f"PERSONA_DIR {str(directory)!r} is not a directory (the task volume's mount)")
        pinned = environ.get("PERSONA_SEED", "")
        task = "" if pinned else task_arn(environ.get("ECS_CONTAINER_METADATA_URI_V4", ""))
        seed = persona_seed(task, pinned)
        persona = None if seed == STOCK else persona_for(seed)
        prepare_template(persona, template, stock_templates(), directory)
    except (InitError, ValueError, OSError) as error:
        print(f"prepare-volumes: no persona rendered: {error}", file=sys.stderr)
        return 1
    label = persona_label(seed, template)
    origin = "pinned seed" if pinned else "task"
    print(f"persona {label.id} ({label.model}) for {origin} {seed}: template {template} rendered into {directory}")
    return 0
