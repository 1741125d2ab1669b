"""``doctor``: check a deployed stack with the user's own credentials; say what is wrong and how to fix it.

Two halves. The checks (``stack_finding`` ... ``sweep_finding``) are pure: they turn API answers,
as boto3 returns them, into ``Finding``s (OK / WARN / FAIL, what is wrong, the exact command that
fixes it). ``examine`` is the thin adapter that makes the calls. The Shodan key's value is never
read: the parameter is described (``ssm:DescribeParameters``), not fetched.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

Status = Literal["OK", "WARN", "FAIL"]
Api = Mapping[str, Any]  # one API answer (or one item of it), as boto3 returns it

LOGS_FRESH = timedelta(hours=1)
CAUSE_LIMIT = 300
STOPPED_SHOWN = 3
MANAGED_SSM_KEY = "alias/aws/ssm"
FAILED_EXECUTION = {"FAILED", "TIMED_OUT", "ABORTED"}
# What a rejected identity looks like on its first call: stop, there is nothing to check.
CREDENTIAL_CODES = {
    "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
    "SignatureDoesNotMatch", "InvalidSignatureException", "AuthFailure", "AccessDenied", "AccessDeniedException",
}  # fmt: skip
CREDENTIAL_ERRORS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    message: str
    fix: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"check": self.check, "status": self.status, "message": self.message, "fix": self.fix}


class DoctorError(Exception):
    """The checks cannot start (credentials, region, stack not found): exit status 2."""


class MissingOutput(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Deployment:
    """The stack as CloudFormation describes it: what every other check starts from."""

    name: str
    region: str
    status: str
    reason: str | None
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise MissingOutput(key) from None


def deployment(stack: Api, region: str) -> Deployment:
    """One item of ``describe_stacks``' ``Stacks``."""
    return Deployment(
        name=str(stack["StackName"]),
        region=region,
        status=str(stack["StackStatus"]),
        reason=stack.get("StackStatusReason"),
        outputs={o["OutputKey"]: str(o.get("OutputValue", "")) for o in stack.get("Outputs") or []},
        parameters={p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in stack.get("Parameters") or []},
    )


# -------------------------------------------------------------------------------------------
# The checks: API answers in, one Finding out.
# -------------------------------------------------------------------------------------------
def stack_finding(stack: Deployment) -> Finding:
    events = (
        f"aws cloudformation describe-stack-events --stack-name {stack.name} --region {stack.region} --max-items 20"
    )
    why = f" ({stack.reason})" if stack.reason else ""
    if stack.status == "ROLLBACK_COMPLETE":
        return Finding(
            "stack",
            "FAIL",
            f"stack {stack.name} failed to create and was rolled back{why}; nothing of it runs",
            f"find the first CREATE_FAILED event: {events}; then delete it "
            f"(aws cloudformation delete-stack --stack-name {stack.name} --region {stack.region}) and deploy again",
        )
    if stack.status == "UPDATE_ROLLBACK_COMPLETE":
        return Finding(
            "stack",
            "WARN",
            f"stack {stack.name}: the last update was rolled back{why}; the previous version runs",
            f"find the first UPDATE_FAILED event: {events}",
        )
    if stack.status.endswith("_COMPLETE"):
        return Finding("stack", "OK", f"stack {stack.name} is {stack.status} in {stack.region}")
    if stack.status.endswith("_IN_PROGRESS"):
        return Finding(
            "stack",
            "FAIL",
            f"stack {stack.name} is {stack.status}: wait until it is complete",
            f"aws cloudformation wait stack-create-complete --stack-name {stack.name} --region {stack.region} "
            f"(stack-update-complete for an update), then run doctor again",
        )
    return Finding("stack", "FAIL", f"stack {stack.name} is {stack.status}{why}", events)


def alerts_finding(stack: Deployment, subscriptions: Sequence[Api], attributes: Mapping[str, Api]) -> Finding:
    """``list_subscriptions_by_topic`` on AlertTopicArn, and each confirmed one's attributes by ARN.

    AWS lists an unconfirmed subscription with the ARN ``PendingConfirmation``; its attributes,
    when they can be read, say ``PendingConfirmation: "true"``.
    """
    topic = stack.output("AlertTopicArn")
    email = stack.parameters.get("AlertEmail", "EMAIL")
    subscribe = (
        f"aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint {email} "
        f"--region {stack.region}"
    )
    confirmed = [
        s
        for s in subscriptions
        if s.get("SubscriptionArn") not in (None, "PendingConfirmation", "Deleted")
        and str(attributes.get(str(s["SubscriptionArn"]), {}).get("PendingConfirmation", "false")).lower() != "true"
    ]
    if confirmed:
        endpoints = ", ".join(sorted(f"{s.get('Protocol')}:{s.get('Endpoint')}" for s in confirmed))
        return Finding("alerts", "OK", f"alert subscription confirmed ({endpoints})")
    if subscriptions:
        pending = ", ".join(sorted(str(s.get("Endpoint")) for s in subscriptions))
        return Finding(
            "alerts",
            "FAIL",
            f"the alert subscription for {pending} is pending confirmation: no alert is delivered until confirmed",
            f'click "Confirm subscription" in the email "AWS Notification - Subscription Confirmation" '
            f"sent to {pending} (check the spam folder); to have it sent again: {subscribe}",
        )
    return Finding("alerts", "FAIL", f"no subscription to the alert topic {topic}: no alert is delivered", subscribe)


def shodan_key_finding(stack: Deployment, described: Sequence[Api]) -> Finding:
    """``describe_parameters`` filtered on the name in the stack parameter ShodanApiKeyParameter."""
    name = stack.parameters.get("ShodanApiKeyParameter", "")
    put = f'aws ssm put-parameter --type SecureString --name {name} --value "$SHODAN_API_KEY" --region {stack.region}'
    match = [p for p in described if p.get("Name") == name]
    if not match and stack.parameters.get("ShodanEngine") == "internetdb":
        return Finding(
            "shodan-key", "OK", f"ShodanEngine=internetdb: the sweep needs no Shodan key ({name} not found, not read)"
        )
    if not match:
        return Finding(
            "shodan-key",
            "FAIL",
            f"SSM parameter {name} (ShodanApiKeyParameter) not found in {stack.region}: every sweep fails",
            put,
        )
    parameter = match[0]
    if parameter.get("Type") != "SecureString":
        return Finding(
            "shodan-key",
            "FAIL",
            f"SSM parameter {name} is a {parameter.get('Type')}, not a SecureString: the key is stored in clear",
            f"{put} --overwrite",
        )
    key = str(parameter.get("KeyId") or MANAGED_SSM_KEY)
    if key != MANAGED_SSM_KEY:
        return Finding(
            "shodan-key",
            "WARN",
            f"SSM parameter {name} is encrypted with {key}, not {MANAGED_SSM_KEY}: the lookup function's role has "
            f"no kms:Decrypt of its own, so the key's policy must allow it or every sweep fails",
            f"{put} --overwrite --key-id {MANAGED_SSM_KEY}",
        )
    return Finding("shodan-key", "OK", f"SSM parameter {name} is a SecureString in {stack.region} (value not read)")


def task_eni(task: Api) -> str | None:
    """The network interface of an awsvpc task (``describe_tasks``' attachment details)."""
    for attachment in task.get("attachments") or []:
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        for detail in attachment.get("details") or []:
            if detail.get("name") == "networkInterfaceId":
                return str(detail["value"])
    return None


def task_id(task: Api) -> str:
    return str(task.get("taskArn", "?")).rsplit("/", 1)[-1][:8]


def _stopped_line(task: Api) -> str:
    reasons = [str(task.get("stoppedReason") or "no reason given")]
    reasons += [
        f"container {c.get('name')}: {c['reason']}"
        for c in task.get("containers") or []
        if c.get("reason") and c["reason"] not in reasons
    ]
    when = task.get("stoppedAt")
    at = f" at {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if isinstance(when, datetime) else ""
    return f"task {task_id(task)} stopped{at}: {'; '.join(reasons)}"


def honeypots_finding(
    stack: Deployment,
    service: Api | None,
    tasks: Sequence[Api],
    public_ips: Mapping[str, str | None],
    stopped: Sequence[Api],
    name: str | None = None,
) -> Finding:
    """``describe_services`` (None: not found), ``describe_tasks`` of the service's tasks whose desired
    status is RUNNING, the public IP of each ENI (``describe_network_interfaces``' Association.PublicIp),
    and ``describe_tasks`` of recently STOPPED ones. ``name``: the service's (default: the first of
    HoneypotServiceNames)."""
    cluster = stack.output("HoneypotClusterName")
    name = name or service_names(stack)[0]
    region = stack.region
    if service is None or service.get("status") != "ACTIVE":
        state = "not found" if service is None else str(service.get("status"))
        return Finding(
            "honeypots",
            "FAIL",
            f"ECS service {name} in cluster {cluster} is {state}",
            f"redeploy the stack: sam deploy --stack-name {stack.name} --region {region}",
        )
    desired = int(service.get("desiredCount", 0))
    if desired == 0:
        return Finding(
            "honeypots",
            "WARN",
            f"ECS service {name} wants 0 tasks: no honeypot runs",
            f"sam deploy --stack-name {stack.name} --region {region} --parameter-overrides HoneypotCount=1",
        )
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    with_ip = {task_id(t): public_ips.get(task_eni(t) or "") for t in running}
    reachable = sorted(str(ip) for ip in with_ip.values() if ip)
    no_ip = sorted(tid for tid, ip in with_ip.items() if not ip)
    starting = [t for t in tasks if t.get("lastStatus") != "RUNNING"]
    describe = f"aws ecs describe-services --cluster {cluster} --services {name} --region {region}"
    if len(reachable) >= desired and not no_ip:
        return Finding(
            "honeypots", "OK", f"{len(reachable)}/{desired} tasks RUNNING with public IPs {', '.join(reachable)}"
        )
    problems = [f"{len(reachable)}/{desired} tasks RUNNING with a public IP"]
    if no_ip:
        problems.append(f"RUNNING without a public IP: task {', '.join(no_ip)}")
    if starting:
        problems.append(f"{len(starting)} starting ({', '.join(sorted({str(t.get('lastStatus')) for t in starting}))})")
    recent = sorted(stopped, key=lambda t: t.get("stoppedAt") or datetime.min.replace(tzinfo=UTC), reverse=True)
    problems += [_stopped_line(t) for t in recent[:STOPPED_SHOWN]]
    events = service.get("events") or []
    if events:
        problems.append(f"latest service event: {events[0].get('message')}")
    if starting and not no_ip and not stopped:
        return Finding("honeypots", "WARN", "; ".join(problems), f"run doctor again in a minute; meanwhile: {describe}")
    fix = describe + " --query 'services[0].events[:5]'"
    if no_ip:
        fix = (
            "the service must run in the stack's public subnets with assignPublicIp ENABLED (as the template "
            f"deploys it): {describe} --query 'services[0].networkConfiguration'"
        )
    return Finding("honeypots", "FAIL", "; ".join(problems), fix)


def logs_finding(stack: Deployment, streams: Sequence[Api] | None, now: datetime) -> Finding:
    """``describe_log_streams`` (newest event first) of HoneypotLogGroupName; None: no such group."""
    group = stack.output("HoneypotLogGroupName")
    tail = f"aws logs tail {group} --since 1h --region {stack.region}"
    if streams is None:
        return Finding(
            "logs",
            "FAIL",
            f"log group {group} does not exist: Conpot cannot log",
            f"redeploy the stack: sam deploy --stack-name {stack.name} --region {stack.region}",
        )
    # lastEventTimestamp is updated eventually (AWS: typically within an hour); take ingestion too.
    stamps = [
        (max(int(s.get("lastEventTimestamp") or 0), int(s.get("lastIngestionTime") or 0)), str(s["logStreamName"]))
        for s in streams
    ]
    stamps = [(ms, name) for ms, name in stamps if ms]
    if not stamps:
        return Finding(
            "logs",
            "WARN",
            f"no Conpot log event in {group} yet: the honeypots have written nothing",
            f"look for a task that cannot start (see honeypots) or watch: {tail}",
        )
    ms, name = max(stamps)
    last = datetime.fromtimestamp(ms / 1000, UTC)
    age = now - last
    ago = _ago(age)
    if age <= LOGS_FRESH:
        return Finding("logs", "OK", f"Conpot logs arriving in {group}: last event {ago} ago (stream {name})")
    return Finding(
        "logs",
        "WARN",
        f"no Conpot log event in {group} for {ago} (last at {last:%Y-%m-%d %H:%M} UTC, stream {name})",
        f"check the tasks (see honeypots) and watch: {tail}",
    )


def _ago(age: timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


def short_cause(cause: str | None, limit: int = CAUSE_LIMIT) -> str:
    """A failed execution's cause in one line: a Lambda error's JSON becomes ``Type: message``."""
    text = (cause or "").strip()
    for _ in range(3):  # causes nest: a Map state's cause holds its iteration's, which holds Lambda's
        try:
            document = json.loads(text)
        except ValueError:
            break
        if not isinstance(document, dict):
            break
        if "errorMessage" in document:
            kind = document.get("errorType")
            text = f"{kind}: {document['errorMessage']}" if kind else str(document["errorMessage"])
            break
        inner = document.get("Cause") or document.get("cause")
        if not isinstance(inner, str):
            text = json.dumps(document, separators=(",", ":"))
            break
        text = inner.strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sweep_finding(stack: Deployment, execution: Api | None) -> Finding:
    """``describe_execution`` of the newest execution (``list_executions``, max 1); None: none yet."""
    machine = stack.output("SweepStateMachineArn")
    start = f"aws stepfunctions start-execution --state-machine-arn {machine} --region {stack.region}"
    if execution is None:
        return Finding("sweep", "WARN", f"no sweep has run; start one: {start}", start)
    name, status = execution.get("name", "?"), str(execution.get("status"))
    started = execution.get("startDate")
    # boto3 answers in the machine's time zone; say UTC, as the console's ISO times do.
    at = f" (started {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC)" if isinstance(started, datetime) else ""
    if status in ("SUCCEEDED", "RUNNING"):
        return Finding("sweep", "OK", f"last sweep {name} {status}{at}")
    if status in FAILED_EXECUTION:
        error = execution.get("error") or status
        cause = short_cause(execution.get("cause"))
        # A Lambda error's cause names its type, which is already the error: say it once.
        what = cause if cause.startswith(f"{error}: ") else f"{error}: {cause}" if cause else str(error)
        history = (
            f"aws stepfunctions get-execution-history --execution-arn {execution.get('executionArn')} "
            f"--region {stack.region} --reverse-order --max-items 10"
        )
        return Finding(
            "sweep",
            "FAIL",
            f"last sweep {name} {status}{at}: {what}",
            f"fix the cause, then start a sweep: {start}; the failed execution's events: {history}",
        )
    return Finding("sweep", "WARN", f"last sweep {name} is {status}{at}", start)


def missing_output(check: str, stack: Deployment, key: str) -> Finding:
    return Finding(
        check,
        "FAIL",
        f"stack {stack.name} has no output {key}: it was not deployed from this template",
        f"sam build && sam deploy --stack-name {stack.name} --region {stack.region}",
    )


def unchecked(check: str, error: ClientError) -> Finding:
    """An API call the user's identity could not make: the check could not be done."""
    code = error.response.get("Error", {}).get("Code", "Error")
    operation = getattr(error, "operation_name", "the call")
    return Finding(
        check,
        "WARN",
        f"could not check: {operation} failed ({code}: {error.response.get('Error', {}).get('Message', '')})",
        "run doctor with an identity that may read the stack's resources (e.g. ReadOnlyAccess)",
    )


def exit_status(findings: Sequence[Finding]) -> int:
    return 1 if any(f.status == "FAIL" for f in findings) else 0


def render(stack: Deployment, findings: Sequence[Finding]) -> list[str]:
    lines = [f"doctor: stack {stack.name} in {stack.region}"]
    for finding in findings:
        lines.append(f"{finding.status:<5} {finding.check:<11} {finding.message}")
        if finding.fix and finding.status != "OK" and finding.fix not in finding.message:
            lines.append(f"{'':<17} fix: {finding.fix}")
    counts = {s: sum(f.status == s for f in findings) for s in ("FAIL", "WARN", "OK")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return lines


def report(stack: Deployment, findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "stack": stack.name,
        "region": stack.region,
        "stackStatus": stack.status,
        "findings": [f.to_json() for f in findings],
        "exitStatus": exit_status(findings),
    }


# -------------------------------------------------------------------------------------------
# The adapter: the user's boto3 session in, the checks' inputs out.
# -------------------------------------------------------------------------------------------
def describe_stack(session: Any, name: str) -> Deployment:
    region = str(session.region_name)
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if "does not exist" in message:
            raise DoctorError(
                f"stack {name} not found in region {region}: check --stack and --region "
                f"(aws cloudformation list-stacks --region {region} --stack-status-filter CREATE_COMPLETE "
                f"UPDATE_COMPLETE --query 'StackSummaries[].StackName')"
            ) from None
        if code in CREDENTIAL_CODES:
            raise DoctorError(
                f"AWS refused the call with your credentials ({code}: {message}): refresh them "
                f"(aws sso login, or aws configure) and make sure they may call cloudformation:DescribeStacks"
            ) from None
        raise
    except BotoCoreError as error:
        if isinstance(error, CREDENTIAL_ERRORS):
            raise
        raise DoctorError(f"cannot reach CloudFormation in region {region}: {error} (is the region right?)") from None
    return deployment(stacks[0], region)


def _subscriptions(session: Any, stack: Deployment) -> Finding:
    sns = session.client("sns")
    subscriptions: list[Api] = []
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=stack.output("AlertTopicArn")):
        subscriptions.extend(page.get("Subscriptions", []))
    attributes = {
        str(s["SubscriptionArn"]): sns.get_subscription_attributes(SubscriptionArn=s["SubscriptionArn"])["Attributes"]
        for s in subscriptions
        if str(s.get("SubscriptionArn", "")).startswith("arn:")
    }
    return alerts_finding(stack, subscriptions, attributes)


def _shodan_key(session: Any, stack: Deployment) -> Finding:
    name = stack.parameters.get("ShodanApiKeyParameter", "")
    described = session.client("ssm").describe_parameters(
        ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]
    )["Parameters"]
    return shodan_key_finding(stack, described)


def _describe_tasks(ecs: Any, cluster: str, arns: list[str]) -> list[Api]:
    return [
        t
        for i in range(0, len(arns), 100)
        for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i : i + 100])["tasks"]
    ]


def service_names(stack: Deployment) -> list[str]:
    """The honeypot services (output HoneypotServiceNames: ``template=service,...``)."""
    return [item.partition("=")[2] or item for item in stack.output("HoneypotServiceNames").split(",") if item]


_SEVERITY: dict[str, int] = {"OK": 0, "WARN": 1, "FAIL": 2}


def combined(findings: Sequence[Finding]) -> Finding:
    """One check over several services: the worst status, each service's message and fix."""
    if len(findings) == 1:
        return findings[0]
    worst = max(findings, key=lambda f: _SEVERITY.get(f.status, 2)).status
    fixes = [f.fix for f in findings if f.fix and f.status == worst]
    return Finding(findings[0].check, worst, "; ".join(f.message for f in findings), "; ".join(fixes) or None)


def _honeypots(session: Any, stack: Deployment) -> Finding:
    names = service_names(stack)
    findings = [_service_honeypots(session, stack, name) for name in names]
    if len(findings) > 1:  # say which service each message is about
        findings = [replace(f, message=f"{name}: {f.message}") for name, f in zip(names, findings, strict=True)]
    return combined(findings)


def _service_honeypots(session: Any, stack: Deployment, name: str) -> Finding:
    ecs, ec2 = session.client("ecs"), session.client("ec2")
    cluster = stack.output("HoneypotClusterName")
    services = ecs.describe_services(cluster=cluster, services=[name])["services"]
    service = services[0] if services else None
    arns: list[str] = []
    for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=name, desiredStatus="RUNNING"):
        arns.extend(page["taskArns"])
    tasks = _describe_tasks(ecs, cluster, arns)
    enis = [eni for eni in map(task_eni, tasks) if eni]
    public_ips: dict[str, str | None] = {}
    if enis:
        described = ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": enis}])
        public_ips = {
            n["NetworkInterfaceId"]: (n.get("Association") or {}).get("PublicIp")
            for n in described["NetworkInterfaces"]
        }
    stopped: list[Api] = []
    desired = int((service or {}).get("desiredCount", 0))
    if service is not None and sum(1 for ip in public_ips.values() if ip) < desired:
        recent = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="STOPPED", maxResults=10)["taskArns"]
        stopped = _describe_tasks(ecs, cluster, recent)
    return honeypots_finding(stack, service, tasks, public_ips, stopped, name)


def _logs(session: Any, stack: Deployment) -> Finding:
    try:
        streams = session.client("logs").describe_log_streams(
            logGroupName=stack.output("HoneypotLogGroupName"), orderBy="LastEventTime", descending=True, limit=1
        )["logStreams"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        streams = None
    return logs_finding(stack, streams, datetime.now(UTC))


def _sweep(session: Any, stack: Deployment) -> Finding:
    sfn = session.client("stepfunctions")
    executions = sfn.list_executions(stateMachineArn=stack.output("SweepStateMachineArn"), maxResults=1)["executions"]
    latest = sfn.describe_execution(executionArn=executions[0]["executionArn"]) if executions else None
    return sweep_finding(stack, latest)


PROBES: tuple[tuple[str, Callable[[Any, Deployment], Finding]], ...] = (
    ("alerts", _subscriptions),
    ("shodan-key", _shodan_key),
    ("honeypots", _honeypots),
    ("logs", _logs),
    ("sweep", _sweep),
)


def examine(session: Any, stack_name: str) -> tuple[Deployment, list[Finding]]:
    """Every check against the stack; the others only when the stack itself is usable."""
    stack = describe_stack(session, stack_name)
    findings = [stack_finding(stack)]
    if findings[0].status == "FAIL":
        return stack, findings
    for check, probe in PROBES:
        try:
            findings.append(probe(session, stack))
        except MissingOutput as missing:
            findings.append(missing_output(check, stack, missing.key))
        except ClientError as error:
            findings.append(unchecked(check, error))
    return stack, findings


# -------------------------------------------------------------------------------------------
# The command.
# -------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="the deployed stack's name (sam deploy --stack-name)")
    parser.add_argument("--region", help="its region (default: your AWS configuration's, e.g. AWS_REGION)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def aws_session(region: str | None) -> Any:
    """The user's boto3 session in ``region`` (or their configured one); DoctorError without one."""
    session = boto3.Session(region_name=region)
    if not session.region_name:
        raise DoctorError("no AWS region: pass --region R (or set AWS_REGION, or aws configure set region R)")
    return session


def run(args: argparse.Namespace) -> int:
    try:
        session = aws_session(args.region)
        args.region = session.region_name  # the one checked, for a refusal's JSON too
        stack, findings = examine(session, args.stack)
    except DoctorError as error:
        return _refuse(str(error), args)
    except CREDENTIAL_ERRORS as error:
        return _refuse(
            f"no usable AWS credentials ({error}): configure them with aws configure "
            f"(or aws sso login, or set AWS_PROFILE), then run doctor again",
            args,
        )
    except NoRegionError:
        return _refuse("no AWS region: pass --region R (or set AWS_REGION)", args)
    if args.json:
        print(json.dumps(report(stack, findings), indent=2))
    else:
        print("\n".join(render(stack, findings)))
    return exit_status(findings)


def _refuse(message: str, args: argparse.Namespace) -> int:
    print(f"error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"stack": args.stack, "region": args.region, "error": message, "exitStatus": 2}, indent=2))
    return 2
