"""The sweep's state machine: statemachine/sweep.asl.yaml is the source (Retry/Catch blocks written
once, as YAML anchors); Step Functions gets statemachine/sweep.asl.json, rendered from it here.

    python tools/asl.py          # render the JSON
    python tools/asl.py --check  # exit 1 when the JSON is not the YAML's rendering

Why render instead of deploying the YAML: CloudFormation reads a definition file as JSON or YAML
(AWS::StepFunctions::StateMachine S3Location), but whether its YAML reader expands anchors is not
documented, so we deploy plain JSON and keep anchors on our side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

STATEMACHINE = Path(__file__).resolve().parent.parent / "statemachine"
SOURCE = STATEMACHINE / "sweep.asl.yaml"
RENDERED = STATEMACHINE / "sweep.asl.json"


def render(source: Path = SOURCE) -> str:
    definition = yaml.safe_load(source.read_text())
    return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if RENDERED.read_text() != text:
            print(f"{RENDERED.name} is not the rendering of {SOURCE.name}: run `make asl`", file=sys.stderr)
            return 1
        return 0
    RENDERED.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
