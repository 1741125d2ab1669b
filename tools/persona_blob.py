"""The honeypot's init program: the persona renderer, packed into template.yaml.

The init container (T-Pot's Conpot image, which has python3) runs ``python3 -c "$PREPARE_PERSONA"``;
PREPARE_PERSONA is this program: a short loader and the sources of ``ics_honeynet.persona``,
``conpot_templates`` and ``persona_init``, JSON, zlib-compressed, base85. No image is built, and
the template carries the package's own code, never a copy to drift from it.

    python tools/persona_blob.py          # write the program into template.yaml
    python tools/persona_blob.py --check  # exit 1 when template.yaml's program is not this package's

Checked while packing (the image is not ours): the modules import only the standard library and
each other, and parse as Python 3.11 (T-Pot's 24.04.1 image has shipped Python 3.11 and 3.12).
"""

from __future__ import annotations

import ast
import base64
import json
import re
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "ics_honeynet"
TEMPLATE = ROOT / "template.yaml"
# In import order: each module's imports are loaded before it runs.
MODULES = ("ics_honeynet", "ics_honeynet.persona", "ics_honeynet.conpot_templates", "ics_honeynet.persona_init")
IMAGE_PYTHON = (3, 11)
# The environment variable's value in template.yaml: a YAML literal block under this anchor.
ANCHOR = "Value: &prepare-persona |-\n"

LOADER = """\
# This task's Conpot persona, rendered into PERSONA_DIR (README, "Personas"): src/ics_honeynet/
# persona_init.py, persona.py and conpot_templates.py, packed by tools/persona_blob.py. Do not edit.
import base64, json, os, sys, types, zlib
for name, source in json.loads(zlib.decompress(base64.b85decode("{blob}"))).items():
    module = sys.modules[name] = types.ModuleType(name)
    if "." not in name:
        module.__path__ = []
    exec(compile(source, name.replace(".", "/") + ".py", "exec"), module.__dict__)
sys.exit(sys.modules["ics_honeynet.persona_init"].main(os.environ))"""


class PackError(ValueError):
    pass


def _source(module: str) -> str:
    if module == "ics_honeynet":
        return ""  # the package itself: its __init__ holds only a docstring
    return (PACKAGE / (module.split(".", 1)[1] + ".py")).read_text(encoding="utf-8")


def check_module(module: str, source: str) -> None:
    """Python 3.11 syntax, standard library (or the modules packed before it) only."""
    try:
        tree = ast.parse(source, f"{module}.py", feature_version=IMAGE_PYTHON)
    except SyntaxError as error:
        raise PackError(f"{module}: not Python {IMAGE_PYTHON[0]}.{IMAGE_PYTHON[1]} syntax: {error}") from None
    packed = MODULES[: MODULES.index(module)]
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if name not in packed and top not in sys.stdlib_module_names and top != "__future__":
                raise PackError(f"{module}: imports {name}, which is neither the standard library nor packed before it")


def program() -> str:
    sources = {module: _source(module) for module in MODULES}
    for module, source in sources.items():
        check_module(module, source)
    packed = zlib.compress(json.dumps(sources, separators=(",", ":")).encode("utf-8"), 9)
    return LOADER.format(blob=base64.b85encode(packed).decode("ascii"))


def _block(text: str) -> tuple[int, int, str]:
    """(start, end, indent) of the program's lines in template.yaml."""
    at = text.find(ANCHOR)
    if at < 0 or text.count(ANCHOR) != 1:
        raise PackError(f"template.yaml must hold exactly one `{ANCHOR.strip()}`")
    start = at + len(ANCHOR)
    indent = re.match(r" *", text[start:])
    width = len(indent.group(0)) if indent else 0
    if width == 0:
        raise PackError("the program's block in template.yaml is not indented")
    end = start
    for line in text[start:].splitlines(keepends=True):
        if line.strip() and not line.startswith(" " * width):
            break
        end += len(line)
    return start, end, " " * width


def embedded(text: str) -> str:
    """The program as template.yaml holds it."""
    start, end, indent = _block(text)
    return "\n".join(line.removeprefix(indent) for line in text[start:end].rstrip("\n").splitlines())


def embed(text: str, code: str) -> str:
    start, end, indent = _block(text)
    return text[:start] + "".join(f"{indent}{line}\n" for line in code.splitlines()) + text[end:]


def main(argv: list[str]) -> int:
    try:
        code = program()
        text = TEMPLATE.read_text(encoding="utf-8")
        if "--check" in argv:
            if embedded(text) != code:
                print("template.yaml's PREPARE_PERSONA is not the package's: run `make persona`", file=sys.stderr)
                return 1
            return 0
        TEMPLATE.write_text(embed(text, code), encoding="utf-8")
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"PREPARE_PERSONA: {len(code):,} characters written into {TEMPLATE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
