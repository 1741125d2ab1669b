"""Deploy the real ``template.yaml`` into embedded moto through CloudFormation.

The path is the one ``sam deploy`` takes, minus the upload: aws-sam-translator turns the SAM
template into CloudFormation, the functions' code goes to an artefact bucket, and moto's
CloudFormation creates the stack. Where moto's CloudFormation falls short, this module says
so and acts explicitly, never silently:

- ``DefinitionSubstitutions`` are ignored by moto (the stored ASL would keep ``${...}``). We
  resolve every substitution against the created stack with moto's own intrinsic-function
  resolver and update the state machine with the rendered ASL.
- ``Fn::If`` that yields ``AWS::NoValue`` inside a list leaves a ``None`` in moto (real
  CloudFormation drops the element). Conditions are evaluated here and every ``Fn::If`` is
  resolved before creation, dropping ``AWS::NoValue`` as CloudFormation does.
- ``Fn::Cidr`` is not implemented by moto; it is computed here (Python's ``ipaddress``) from
  literal or parameter arguments before the stack is created.
- Resource types moto's CloudFormation cannot create are taken out of the template before
  creation and, where an API equivalent exists, applied through that API after it
  (``EMULATED_TYPES``); anything else is reported in ``DeployedStack.not_emulated``.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from localcloud.constants import ACCOUNT_ID, ARTIFACT_BUCKET, TEMPLATE
from localcloud.fargate import TaskDefinitionRejected
from localcloud.moto_patches.base import CreateFailed
from localcloud.sam import artifact_key, code_uri, layer_uris, load_template, transform_template

Progress = Callable[[str], None]


class DeployError(RuntimeError):
    pass


@dataclass
class DeployedStack:
    name: str
    stack_id: str
    region: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    functions: dict[str, str]  # logical id -> deployed function name
    code_dirs: dict[str, Path]  # logical id -> its CodeUri folder (src/ for all of them)
    layer_dirs: dict[str, list[Path]]  # logical id -> its layers' ContentUri folders
    state_machine_arn: str
    state_machine_role_arn: str
    schedule_role_arn: str  # the role EventBridge starts the sweep with
    definition: dict[str, Any]
    emulated: list[str] = field(default_factory=list)
    not_emulated: list[str] = field(default_factory=list)

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise DeployError(f"stack {self.name} has no output {key}; outputs: {sorted(self.outputs)}") from None


# ---------------------------------------------------------------------------------------------
# Resource types moto's CloudFormation lacks, and how the local cloud applies them instead.
# ---------------------------------------------------------------------------------------------
def _apply_bucket_policy(logical_id: str, props: dict[str, Any], region: str) -> str:
    boto3.client("s3", region_name=region).put_bucket_policy(
        Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"])
    )
    return props["Bucket"]


def _apply_metric_alarm(logical_id: str, props: dict[str, Any], region: str) -> str:
    allowed = {
        "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
        "InsufficientDataActions", "MetricName", "Namespace", "Statistic", "Dimensions", "Period",
        "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    }  # fmt: skip
    kwargs = {k: v for k, v in props.items() if k in allowed}
    kwargs.setdefault("AlarmName", logical_id)
    kwargs["Threshold"] = float(kwargs.get("Threshold", 0))
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    boto3.client("cloudwatch", region_name=region).put_metric_alarm(**kwargs)
    return kwargs["AlarmName"]


def _apply_event_invoke_config(logical_id: str, props: dict[str, Any], region: str) -> str:
    allowed = {"FunctionName", "Qualifier", "MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"}
    kwargs = {k: v for k, v in props.items() if k in allowed}
    for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    boto3.client("lambda", region_name=region).put_function_event_invoke_config(**kwargs)
    return f"{props['FunctionName']}:{props.get('Qualifier', '$LATEST')}"


EMULATED_TYPES: dict[str, Callable[[str, dict[str, Any], str], str]] = {
    "AWS::S3::BucketPolicy": _apply_bucket_policy,
    "AWS::CloudWatch::Alarm": _apply_metric_alarm,
    "AWS::Lambda::EventInvokeConfig": _apply_event_invoke_config,
}


def _moto_supported_types() -> set[str]:
    from moto.cloudformation.parsing import get_model_map

    from localcloud.moto_patches import CLOUDFORMATION_MODELS

    return set(get_model_map()) | set(CLOUDFORMATION_MODELS)


# ---------------------------------------------------------------------------------------------
def _zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts and not file.parts[-2].endswith(".egg-info"):
                zf.write(file, file.relative_to(folder))
    return buf.getvalue()


def _prepare(
    cfn: dict[str, Any], sam: dict[str, Any], template_dir: Path, region: str
) -> tuple[dict[str, Path], dict[str, list[Path]], dict[str, Any], str, dict[str, dict[str, Any]]]:
    """Point functions at uploaded code, upload the layers, inline the raw ASL, and take out what
    moto cannot create.

    Returns (function code folders by logical id, their layers' folders, ASL, state machine
    logical id, removed resources). A layer is uploaded as its ContentUri folder (its
    requirements file): the local cloud runs handlers with this environment's packages and reads
    a layer for what it declares (localcloud/packaging.py), not for built wheels.
    """
    resources: dict[str, Any] = cfn["Resources"]
    s3 = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)

    for sam_resource in sam["Resources"].values():
        if sam_resource.get("Type") == "AWS::Serverless::LayerVersion":
            uri = str(sam_resource["Properties"]["ContentUri"])
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=artifact_key(uri), Body=_zip_folder(template_dir / uri))

    code_dirs: dict[str, Path] = {}
    layer_dirs: dict[str, list[Path]] = {}
    for logical_id, sam_resource in sam["Resources"].items():
        if sam_resource.get("Type") != "AWS::Serverless::Function":
            continue
        layer_dirs[logical_id] = [(template_dir / uri).resolve() for uri in layer_uris(sam, logical_id)]
        uri = code_uri(sam, logical_id)
        folder = (template_dir / uri).resolve()
        key = artifact_key(uri)
        if folder not in code_dirs.values():  # the functions share one CodeUri: one upload
            s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=_zip_folder(folder))
        resources[logical_id]["Properties"]["Code"] = {"S3Bucket": ARTIFACT_BUCKET, "S3Key": key}
        code_dirs[logical_id] = folder

    machines = [lid for lid, r in sam["Resources"].items() if r.get("Type") == "AWS::Serverless::StateMachine"]
    if len(machines) != 1:
        raise DeployError(f"expected one state machine in the template, found {machines}")
    machine_id = machines[0]
    asl_path = template_dir / sam["Resources"][machine_id]["Properties"]["DefinitionUri"]
    asl = json.loads(asl_path.read_text())
    props = resources[machine_id]["Properties"]
    props.pop("DefinitionS3Location", None)
    # Raw ASL, ${...} tokens included: moto stores it as is; _render_substitutions fills them.
    props["DefinitionString"] = json.dumps(asl)

    supported = _moto_supported_types()
    removed = {
        lid: resources.pop(lid)
        for lid in list(resources)
        if resources[lid]["Type"] not in supported and not resources[lid]["Type"].startswith("Custom::")
    }
    return code_dirs, layer_dirs, asl, machine_id, removed


_NO_VALUE = object()


ParameterValue = str | list[str]


def parameter_values(declared: dict[str, Any], given: dict[str, str]) -> dict[str, ParameterValue]:
    """The stack's parameter values as CloudFormation resolves and checks them (moto checks none):
    a ``CommaDelimitedList`` is a list, "each member string is space trimmed"; ``AllowedValues``
    and ``AllowedPattern`` hold for a String's value and for each value of a list, else the stack
    is refused: ``Parameter 'X' must be one of AllowedValues`` (CloudFormation user guide,
    "Parameters": Type, AllowedValues, AllowedPattern)."""
    values: dict[str, ParameterValue] = {}
    for name, spec in declared.items():
        if name not in given and "Default" not in spec:
            continue
        raw = str(given.get(name, spec.get("Default")))
        is_list = spec.get("Type") == "CommaDelimitedList"
        items = [item.strip() for item in raw.split(",")] if is_list else [raw]
        allowed = [str(v) for v in spec.get("AllowedValues") or []]
        if allowed and any(item not in allowed for item in items):
            raise DeployError(f"ValidationError: Parameter '{name}' must be one of AllowedValues")
        pattern = spec.get("AllowedPattern")
        if pattern and any(re.fullmatch(pattern, item) is None for item in items):
            raise DeployError(f"ValidationError: Parameter '{name}' must match pattern {pattern}")
        values[name] = items if is_list else raw
    return values


def _value(expr: Any, parameters: dict[str, ParameterValue]) -> Any:
    """A value inside a condition: Ref (a parameter), Fn::Join, Fn::Split, Fn::Select."""
    if isinstance(expr, list):
        return [_value(item, parameters) for item in expr]
    if not isinstance(expr, dict):
        return expr
    if set(expr) == {"Ref"} and expr["Ref"] in parameters:
        return parameters[expr["Ref"]]
    if set(expr) == {"Fn::Join"}:
        delimiter, items = expr["Fn::Join"]
        return str(delimiter).join(str(item) for item in _value(items, parameters))
    if set(expr) == {"Fn::Split"}:
        delimiter, text = expr["Fn::Split"]
        return str(_value(text, parameters)).split(str(delimiter))
    if set(expr) == {"Fn::Select"}:
        index, items = expr["Fn::Select"]
        items = _value(items, parameters)
        if not 0 <= int(index) < len(items):
            raise DeployError(f"Template error: Fn::Select cannot select nonexistent value at index {index}")
        return items[int(index)]
    raise DeployError(f"the local cloud cannot evaluate {expr!r} in a condition")


def _evaluate_condition(expr: Any, conditions: dict[str, Any], parameters: dict[str, ParameterValue]) -> bool:
    if isinstance(expr, dict):
        if "Condition" in expr:
            return _evaluate_condition(conditions[expr["Condition"]], conditions, parameters)
        if "Fn::Equals" in expr:
            left, right = (_value(arg, parameters) for arg in expr["Fn::Equals"])
            return str(left) == str(right)
        if "Fn::Not" in expr:
            return not _evaluate_condition(expr["Fn::Not"][0], conditions, parameters)
        if "Fn::And" in expr:
            return all(_evaluate_condition(e, conditions, parameters) for e in expr["Fn::And"])
        if "Fn::Or" in expr:
            return any(_evaluate_condition(e, conditions, parameters) for e in expr["Fn::Or"])
    raise DeployError(f"the local cloud cannot evaluate condition {expr!r}")


def _resolve_if(node: Any, truth: dict[str, bool]) -> Any:
    """Resolve every ``Fn::If`` and drop ``AWS::NoValue`` the way CloudFormation does."""
    if isinstance(node, list):
        items = [_resolve_if(item, truth) for item in node]
        return [item for item in items if item is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if node == {"Ref": "AWS::NoValue"}:
        return _NO_VALUE
    if set(node) == {"Fn::If"}:
        name, when_true, when_false = node["Fn::If"]
        return _resolve_if(when_true if truth[name] else when_false, truth)
    resolved = {key: _resolve_if(value, truth) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value is not _NO_VALUE}


def _resolve_cidr(node: Any, parameters: dict[str, ParameterValue]) -> Any:
    """Replace every ``Fn::Cidr`` (moto lacks it) by the list of CIDR blocks it denotes."""
    if isinstance(node, list):
        return [_resolve_cidr(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::Cidr"}:
        block, count, bits = (_resolve_cidr(arg, parameters) for arg in node["Fn::Cidr"])
        if isinstance(block, dict) and set(block) == {"Ref"}:
            block = parameters[block["Ref"]]
        network = ipaddress.ip_network(str(block))
        prefix = network.max_prefixlen - int(bits)
        subnets = network.subnets(new_prefix=prefix)
        return [str(next(subnets)) for _ in range(int(count))]
    return {key: _resolve_cidr(value, parameters) for key, value in node.items()}


_TOKEN = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


def render_definition(asl_text: str, values: dict[str, str]) -> str:
    """Replace ``${Name}`` tokens as Step Functions does; a token without a value is an error."""
    missing = sorted({m for m in _TOKEN.findall(asl_text) if m not in values})
    if missing:
        raise DeployError(f"DefinitionSubstitutions lack values for: {', '.join(missing)}")
    return _TOKEN.sub(lambda m: values[m.group(1)], asl_text)


def _moto_stack(stack_id: str, region: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    return cloudformation_backends[ACCOUNT_ID][region].stacks[stack_id]


def _schedule_role(cfn: dict[str, Any], physical: dict[str, str], machine_arn: str, region: str) -> str:
    """The role of the EventBridge rule whose target is the state machine."""
    events = boto3.client("events", region_name=region)
    for logical_id, resource in cfn["Resources"].items():
        if resource["Type"] != "AWS::Events::Rule":
            continue
        for target in events.list_targets_by_rule(Rule=physical[logical_id])["Targets"]:
            if target["Arn"] == machine_arn and target.get("RoleArn"):
                return str(target["RoleArn"])
    raise DeployError("no EventBridge rule targets the state machine with a role")


def deploy(
    *,
    stack_name: str,
    parameters: dict[str, str],
    region: str = "us-east-1",
    template_path: Path = TEMPLATE,
    progress: Progress = lambda _msg: None,
) -> DeployedStack:
    """Deploy the SAM template into the running moto; call inside ``mock_aws``."""
    from moto.cloudformation.parsing import clean_json

    progress("transforming template.yaml with aws-sam-translator")
    cfn = transform_template(template_path, parameters)
    sam = load_template(template_path)
    code_dirs, layer_dirs, asl, machine_id, removed = _prepare(cfn, sam, template_path.parent, region)
    substitutions = cfn["Resources"][machine_id]["Properties"].pop("DefinitionSubstitutions", {})

    values = parameter_values(cfn.get("Parameters", {}), {k: str(v) for k, v in parameters.items()})
    conditions = cfn.pop("Conditions", {})
    truth = {name: _evaluate_condition(expr, conditions, values) for name, expr in conditions.items()}
    # Conditions applied here, once (moto would evaluate them again, with its own reading of a list
    # parameter: an undivided string when defaulted).
    cfn["Resources"] = {
        lid: {k: v for k, v in _resolve_cidr(_resolve_if(resource, truth), values).items() if k != "Condition"}
        for lid, resource in cfn["Resources"].items()
        if truth.get(resource.get("Condition", ""), True)
    }
    cfn["Outputs"] = {
        name: {k: v for k, v in output.items() if k != "Condition"}
        for name, output in _resolve_if(cfn.get("Outputs", {}), truth).items()
        if truth.get(output.get("Condition", ""), True)
    }

    progress(f"creating stack {stack_name} ({len(cfn['Resources'])} resources) in moto CloudFormation")
    cloudformation = boto3.client("cloudformation", region_name=region)
    declared = set(cfn.get("Parameters", {}))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise DeployError(f"template.yaml has no parameters named {', '.join(unknown)}")
    try:
        stack_id = cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(cfn),
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )["StackId"]
    except TaskDefinitionRejected as rejected:  # what ECS answers CloudFormation, which rolls back
        raise DeployError(f"stack {stack_name} CREATE_FAILED: task definition: ClientException: {rejected}") from None
    except CreateFailed as failed:
        raise DeployError(f"stack {stack_name} CREATE_FAILED: {failed}") from None
    described = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise DeployError(f"stack {stack_name} ended in {described['StackStatus']}")
    moto_stack = _moto_stack(stack_id, region)
    # moto keeps no physical id for some types (AWS::Lambda::Permission): nothing refers to them.
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cloudformation.describe_stack_resources(StackName=stack_id)["StackResources"]
        if "PhysicalResourceId" in r
    }

    progress("resolving DefinitionSubstitutions and storing the rendered ASL")
    values = {k: str(clean_json(v, moto_stack.resource_map)) for k, v in _resolve_if(substitutions, truth).items()}
    rendered = render_definition(json.dumps(asl), values)
    machine_arn = physical[machine_id]
    boto3.client("stepfunctions", region_name=region).update_state_machine(
        stateMachineArn=machine_arn, definition=rendered
    )

    emulated, not_emulated = [], []
    for logical_id, resource in removed.items():
        if not truth.get(resource.get("Condition", ""), True):
            continue  # CloudFormation does not create a resource whose condition is false
        apply = EMULATED_TYPES.get(resource["Type"])
        if apply is None:
            not_emulated.append(f"{logical_id} ({resource['Type']})")
            continue
        props = clean_json(resource.get("Properties", {}), moto_stack.resource_map)
        physical[logical_id] = apply(logical_id, props, region)
        emulated.append(f"{logical_id} ({resource['Type']})")
    if emulated:
        progress(f"applied outside CloudFormation (moto lacks the type): {', '.join(emulated)}")
    if not_emulated:
        progress(f"NOT emulated locally: {', '.join(not_emulated)}")

    # A function under a false condition (CensysLookup without a token) is not created, as on AWS.
    code_dirs = {lid: folder for lid, folder in code_dirs.items() if lid in physical}
    functions = {lid: physical[lid] for lid in code_dirs}
    machine_role = boto3.client("stepfunctions", region_name=region).describe_state_machine(
        stateMachineArn=machine_arn
    )["roleArn"]

    return DeployedStack(
        name=stack_name,
        stack_id=stack_id,
        region=region,
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        physical_ids=physical,
        functions=functions,
        code_dirs=code_dirs,
        layer_dirs=layer_dirs,
        state_machine_arn=machine_arn,
        state_machine_role_arn=machine_role,
        schedule_role_arn=_schedule_role(cfn, physical, machine_arn, region),
        definition=json.loads(rendered),
        emulated=emulated,
        not_emulated=not_emulated,
    )
