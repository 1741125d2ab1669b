"""Transform the SAM template offline with aws-sam-translator, as `sam deploy` does.

`sam deploy` uploads local paths (``CodeUri``, a layer's ``ContentUri``, ``DefinitionUri``) to S3 before the transform;
here they become ``s3://`` placeholders (the local cloud uploads the code itself). Managed
policy ARNs are not looked up in IAM: the template uses only inline policies and SAM policy
templates, which the translator expands offline.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from localcloud.constants import ARTIFACT_BUCKET


def artifact_key(uri: str) -> str:
    """One artefact per CodeUri (``src/`` -> ``src.zip``): functions sharing it share the upload."""
    return uri.strip("/").replace("/", "-") + ".zip"


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs only if the template names any."""

    def load(self) -> dict[str, str]:
        return {}


def load_template(path: Path) -> dict[str, Any]:
    """Parse template.yaml, short-form intrinsics (!Ref, !Sub, !If ...) included."""
    return copy.deepcopy(_parsed(path.read_text()))


# Every deploy parses and transforms the same template (a test run: hundreds of times, seconds each);
# both are pure functions of the text (and parameters), so each process does them once per text.
@lru_cache(maxsize=16)
def _parsed(text: str) -> dict[str, Any]:
    return yaml_parse(text)


def code_uri(template: dict[str, Any], logical_id: str) -> str:
    """A function's ``CodeUri``: its own, or the template's ``Globals.Function.CodeUri``."""
    props = template["Resources"][logical_id].get("Properties", {})
    uri = props.get("CodeUri", template.get("Globals", {}).get("Function", {}).get("CodeUri"))
    if not isinstance(uri, str):
        raise ValueError(f"function {logical_id} has no local CodeUri (its own or in Globals)")
    return uri


def layer_uris(template: dict[str, Any], logical_id: str) -> list[str]:
    """The local ``ContentUri`` of each layer function ``logical_id`` uses (its own ``Layers``, or
    the Globals'); a layer the template does not build (an ARN) is an error: the local cloud
    could not know what it holds."""
    props = template["Resources"][logical_id].get("Properties", {})
    layers = props.get("Layers", template.get("Globals", {}).get("Function", {}).get("Layers", []))
    uris = []
    for layer in layers:
        target = layer.get("Ref") if isinstance(layer, dict) else None
        resource = template["Resources"].get(target or "", {})
        if resource.get("Type") != "AWS::Serverless::LayerVersion":
            raise ValueError(
                f"function {logical_id}: layer {layer!r} is not an AWS::Serverless::LayerVersion of the template"
            )
        uris.append(str(resource["Properties"]["ContentUri"]))
    return uris


def transform_template(path: Path, parameters: dict[str, str], region: str = "us-east-1") -> dict[str, Any]:
    """The CloudFormation that `sam deploy` would create from ``path`` with ``parameters``."""
    return copy.deepcopy(_transformed(path.read_text(), tuple(sorted(parameters.items())), region))


@lru_cache(maxsize=32)
def _transformed(text: str, parameters: tuple[tuple[str, str], ...], region: str) -> dict[str, Any]:
    template = copy.deepcopy(_parsed(text))
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function":
            # As `sam deploy` does, each function's local CodeUri (its own or the Globals') becomes
            # the uploaded artefact's location.
            props["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{artifact_key(code_uri(template, logical_id))}"
            resource["Properties"] = props
        if resource.get("Type") == "AWS::Serverless::LayerVersion":
            # A layer's local ContentUri (its requirements file: see stack.py) as `sam deploy` uploads it.
            props["ContentUri"] = f"s3://{ARTIFACT_BUCKET}/{artifact_key(props['ContentUri'])}"
        if resource.get("Type") == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            props["DefinitionUri"] = f"s3://{ARTIFACT_BUCKET}/{logical_id}.asl.json"
    # The translator needs a region for ARNs and pseudo parameters.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(template, dict(parameters), _NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
