"""The offline local cloud: the real stack, the real ASL, the real handlers, a local Shodan.

``LocalCloud`` starts embedded moto with Step Functions execution on, installs the moto
patches (localcloud/moto_patches/), serves a Shodan-compatible API on 127.0.0.1 driven by a scenario,
deploys template.yaml through CloudFormation, and keeps the honeynet service's tasks running
with public IPs. ``run_sweep`` starts the state machine as the EventBridge schedule would and
waits for it, returning everything a user would look at afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import itertools
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from localcloud import clock, conpot_image, moto_patches
from localcloud.authorizer import (
    Answer,
    ApiFault,
    Authorizer,
    alarm_delivery_denial,
    flow_log_delivery_denial,
    function_log_denial,
    gating,
    lambda_invoke_denial,
    log_group_key_denial,
)
from localcloud.censys_api import CensysApiServer, censys_record
from localcloud.constants import ACCOUNT_ID, DEFAULT_SCENARIO, REGION, TEMPLATE
from localcloud.ecs_scheduler import HoneynetScheduler, HoneypotTask
from localcloud.function_urls import FunctionUrls, HttpResponse
from localcloud.functions import (
    FUNCTION_LOGS,
    Container,
    FunctionLog,
    function_log,
    function_of,
    load_container,
    stdout_routed_to_function_logs,
)
from localcloud.handler_patches import (
    ClockPatches,
    ScaledClock,
    routing_censys_to,
    routing_internetdb_to,
    routing_shodan_to,
)
from localcloud.iam import acting_as, role_principal
from localcloud.lambda_imports import import_error, missing_imports
from localcloud.lambda_runtime import InProcessLambda
from localcloud.metrics import breaching, emf_datapoints
from localcloud.moto_patches.stepfunctions import RETRY_WAITS, RetryWait
from localcloud.presigned import OpenedLink, open_presigned
from localcloud.report import SweepReport, rotation_outcome, scan_outcomes
from localcloud.scenario import Profile, Scenario, load_scenario, render_host
from localcloud.shodan_api import ShodanApiServer
from localcloud.stack import DeployedStack, DeployError, Progress, deploy

# Retry/Wait intervals in the ASL are right for AWS (seconds to minutes); locally every
# sleep is multiplied by this factor so a sweep with retries takes seconds.
DEFAULT_TIME_SCALE = 0.01
SHODAN_KEY_PARAMETER = "/ics-honeynet/shodan-api-key"
CENSYS_TOKEN_PARAMETER = "/ics-honeynet/censys-token"  # noqa: S105 - a parameter name
LOCAL_CENSYS_TOKEN = "local-censys-token"  # noqa: S105 - what the local Censys accepts when the scenario has none


# How long the local cloud waits for its ECS scheduler (a task RUNNING, stopped, its events read).
# Only a deadline: waits end as soon as the condition holds. Generous, because the scheduler's
# passes start tasks' programs, which take seconds on a loaded machine (several test workers).
WAIT_DEADLINE_S = 120.0


class SweepTimeout(RuntimeError):
    pass


@dataclass
class SweepRun:
    """One execution of the sweep, as the Step Functions console would show it."""

    name: str
    execution_arn: str
    status: str
    input: dict[str, Any]
    output: Any
    error: str | None
    cause: str | None
    started: datetime
    stopped: datetime | None
    history: list[dict[str, Any]]

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class AlarmDelivery:
    """A CloudWatch alarm that went into ALARM, and whether its notification could be delivered."""

    alarm: str
    topic_arn: str
    denied: str | None  # why CloudWatch could not publish to the encrypted topic

    @property
    def delivered(self) -> bool:
        return self.denied is None


@dataclass(frozen=True)
class LogDelivery:
    """Whether Lambda can write a function's logs with the function's role (it fails silently)."""

    function: str
    log_group: str
    denied: str | None

    @property
    def delivered(self) -> bool:
        return self.denied is None


@dataclass(frozen=True)
class FlowLogDelivery:
    """Whether log delivery may write a flow log's files to its S3 destination (it fails silently)."""

    flow_log_id: str
    destination: str
    denied: str | None

    @property
    def delivered(self) -> bool:
        return self.denied is None


@dataclass
class Email:
    subject: str
    body: str


@dataclass(frozen=True)
class ScheduledRun:
    """A function's EventBridge schedule firing: the rule, whether EventBridge could invoke the
    function, and how the (asynchronous) invocation ended after Lambda's retries."""

    rule: str
    schedule: str
    state: str
    refused: str | None = None  # why EventBridge could not invoke it (or the rule is disabled)
    attempts: int = 0
    result: Any = None  # the last attempt's payload
    error: str | None = None  # its function error type
    failure_sent_to: str | None = None  # the on-failure destination that got Lambda's record

    @property
    def succeeded(self) -> bool:
        return self.refused is None and self.attempts > 0 and self.error is None


@dataclass
class LocalCloud:
    scenario_path: Path = DEFAULT_SCENARIO
    tasks: int | None = None
    rotate_on: str = "never"
    parameters: dict[str, str] = field(default_factory=dict)
    time_scale: float = DEFAULT_TIME_SCALE
    stack_name: str = "ics-honeynet-local"
    # The SAM template to deploy (mutation tests deploy a copy with a defect put back).
    template_path: Path = TEMPLATE
    # Show the functions' log lines as they are written (they are kept either way).
    echo_function_logs: bool = False
    # The key stored in SSM; None stores the one the scenario's Shodan accepts.
    stored_shodan_key: str | None = None
    # Where the handlers' shodan clients connect (the local Shodan; a test may point it elsewhere).
    shodan_endpoint: str = ""
    # The wall clock (the handlers' datetime.now, ECS's task times, Step Functions' EnteredTime,
    # Firehose's arrival times, the local Shodan's banners) runs on the scaled clock too, and
    # advance_clock() moves it: a scenario played over simulated days (make report). Off: real time.
    simulated_wall_clock: bool = False
    # Where the handlers' InternetDB requests go (the local InternetDB; a test may point it elsewhere).
    internetdb_endpoint: str = ""
    # The Censys token stored in SSM when the scenario has a censys section (or ``censys_token``
    # is set); None stores the one the local Censys accepts.
    stored_censys_token: str | None = None
    # Censys on, accepting this token, whatever the scenario says (None: as the scenario says).
    censys_token: str | None = None
    progress: Progress = lambda _msg: None

    scenario: Scenario = field(init=False)
    stack: DeployedStack = field(init=False)
    shodan: ShodanApiServer = field(init=False)
    censys: CensysApiServer = field(init=False)
    scheduler: HoneynetScheduler = field(init=False)
    runtime: InProcessLambda = field(init=False)
    function_urls: FunctionUrls = field(init=False)
    clock: ScaledClock = field(init=False)  # the handlers' clock (and the wall clock, if simulated)
    authorizer: Authorizer = field(init=False)
    alarm_deliveries: list[AlarmDelivery] = field(init=False, default_factory=list)
    function_log_deliveries: list[LogDelivery] = field(init=False, default_factory=list)
    flow_log_deliveries: list[FlowLogDelivery] = field(init=False, default_factory=list)
    # Each function's containers started so far (logical id -> containers), for tests that look
    # inside one (its Shodan pacer, its cached clients).
    containers: dict[str, list[Container]] = field(init=False, default_factory=dict)
    _alarms_in_alarm: set[str] = field(init=False, default_factory=set)
    _log_marks: dict[str, int] = field(init=False, default_factory=dict)
    _stack: contextlib.ExitStack = field(init=False)

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> LocalCloud:
        self._stack = contextlib.ExitStack()
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        from moto import mock_aws

        self.scenario = load_scenario(self.scenario_path)
        # moto's interpreter logs expected control flow (an IsPresent miss) as errors.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self.runtime = InProcessLambda(time_scale=self.time_scale)
        self.function_urls = FunctionUrls(self.runtime, REGION)
        es = self._stack
        es.enter_context(
            _environment(
                {
                    "AWS_ACCESS_KEY_ID": "localcloud",
                    "AWS_SECRET_ACCESS_KEY": "localcloud",
                    "AWS_DEFAULT_REGION": REGION,
                    "AWS_REGION": REGION,
                },
                drop=("AWS_PROFILE", "AWS_SESSION_TOKEN"),
            )
        )
        es.enter_context(
            mock_aws(
                config={
                    "stepfunctions": {"execute_state_machine": True},
                    "lambda": {"use_docker": False},
                    # AWS managed policies (AWSLambdaBasicExecutionRole, which SAM attaches) are
                    # evaluated like any other; moto drops a policy ARN it does not know.
                    "iam": {"load_aws_managed_policies": True},
                }
            )
        )
        es.enter_context(moto_patches.installed(self.runtime, time_scale=self.time_scale))
        es.enter_context(_echo_function_logs(self.echo_function_logs))
        es.enter_context(stdout_routed_to_function_logs())
        _clear_function_caches()
        # Function logs are kept per process; this cloud's metrics are what is logged from now on.
        self._log_marks = {name: len(log.lines) for name, log in FUNCTION_LOGS.items()}

        # Shodan's rate window runs on the same scaled clock as the ASL's Retry intervals, so
        # retries meet the limit as they would on AWS.
        rate = self.scenario.shodan.rate_limit_per_s
        self.shodan = ShodanApiServer(
            api_key=self.scenario.shodan.api_key,
            rate_limit_per_s=rate / self.time_scale if rate else None,
            scan_credits=self.scenario.shodan.scan_credits,
            scan_delay_s=self.scenario.shodan.scan_delay_minutes * 60 * self.time_scale,
            monitored_ips=self.scenario.shodan.monitored_ips,
        )
        # Shodan Monitor's webhook notifiers post to function URLs: served by the stack's functions.
        self.shodan.deliver = lambda url, headers, body: self.function_urls.request(url, "POST", headers, body).status
        es.enter_context(self.shodan)
        limit = f", {rate:g} request/s per key (scaled)" if rate else ""
        self.progress(f"local Shodan API on {self.shodan.url} (scenario {self.scenario_path.name}{limit})")

        key_parameter = self.parameters.get("ShodanApiKeyParameter", SHODAN_KEY_PARAMETER)
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=key_parameter,
            Type="SecureString",
            Value=self.stored_shodan_key or self.scenario.shodan.api_key,
        )
        # Censys, the optional second index: its own listener; the stack has a token (SSM,
        # CensysTokenParameter) only when the scenario has a censys section.
        censys_token = self.censys_token or self.scenario.censys.token
        self.censys = es.enter_context(CensysApiServer(censys_token or LOCAL_CENSYS_TOKEN))
        censys_parameters = {}
        if censys_token is not None:
            censys_parameters["CensysTokenParameter"] = CENSYS_TOKEN_PARAMETER
            boto3.client("ssm", region_name=REGION).put_parameter(
                Name=CENSYS_TOKEN_PARAMETER, Type="SecureString", Value=self.stored_censys_token or censys_token
            )
        count = self.tasks if self.tasks is not None else len(self.scenario.honeypots)
        parameters = {
            "AlertEmail": "researcher@example.org",
            "ShodanApiKeyParameter": key_parameter,
            "HoneypotCount": str(count),
            "RotateOn": self.rotate_on,
            # The checks share the scenario's Shodan rate, on the handlers' scaled clock.
            "ShodanRequestsPerSecond": f"{rate or 1.0:g}",
            "ExtraHoneypotIps": ",".join(extra.ip for extra in self.scenario.extra_ips),
            **({"ExperimentMode": "on"} if self.scenario.experiment else {}),
            **censys_parameters,
            **self.parameters,
        }
        # From here on every call a principal of the stack makes is authorised as on AWS (while
        # deploying: the services acting for resources being created, such as a subscription
        # filter's test delivery).
        self.authorizer = es.enter_context(gating(Authorizer(REGION)))
        self.stack = deploy(
            stack_name=self.stack_name,
            parameters=parameters,
            region=REGION,
            template_path=self.template_path,
            progress=self.progress,
        )
        # Handlers run in this process: their environment first, then their import (module-level
        # Powertools objects read it), as in a Lambda container. From outside, their clock runs
        # on the time scale and their shodan clients talk to the local Shodan (handler_patches).
        lambda_client = boto3.client("lambda", region_name=REGION)
        configurations = {
            name: lambda_client.get_function_configuration(FunctionName=name) for name in self.stack.functions.values()
        }
        es.enter_context(_environment(_merged_environment(configurations)))
        self.shodan_endpoint = self.shodan.url
        es.enter_context(routing_shodan_to(lambda: self.shodan_endpoint))
        self.clock = ScaledClock(self.time_scale)
        clocks = ClockPatches(self.clock, wall=self.simulated_wall_clock)
        self.internetdb_endpoint = self.shodan.internetdb_url
        es.enter_context(routing_internetdb_to(lambda: self.internetdb_endpoint))
        es.enter_context(routing_censys_to(self.censys.url))
        es.callback(clocks.restore)
        if self.simulated_wall_clock:
            es.enter_context(clock.reading(self.clock))
        self.authorizer.step_functions = role_principal(self.stack.state_machine_role_arn)
        self._check_log_group_keys()
        self._check_flow_log_delivery()
        for logical_id, function_name in self.stack.functions.items():
            handler = configurations[function_name]["Handler"]
            role = role_principal(configurations[function_name]["Role"])
            containers = _containers_of(
                handler, self.stack.code_dirs[logical_id], clocks, self.containers.setdefault(logical_id, [])
            )
            missing = missing_imports(handler, self.stack.code_dirs[logical_id], self.stack.layer_dirs[logical_id])
            cannot_import = import_error(handler, missing) if missing else None
            if cannot_import:
                self.progress(f"warning: {logical_id} cannot import on Lambda: {cannot_import[1]}")
            log = function_log(function_of(handler))
            self.runtime.register(function_name, containers, log, principal=role, import_error=cannot_import)
            group = (
                configurations[function_name].get("LoggingConfig", {}).get("LogGroup", f"/aws/lambda/{function_name}")
            )
            denial = function_log_denial(self.authorizer, role, group)
            self.function_log_deliveries.append(LogDelivery(function_name, group, denial))
            if denial:
                self.progress(f"warning: Lambda cannot write {function_name}'s logs to {group}: {denial}")

        self.scheduler = HoneynetScheduler(
            cluster=self.stack.output("HoneypotClusterName"),
            services=list(self.services),
            region=REGION,
            on_task_started=self._bind_shodan_profile,
        )
        total = count * len(self.services)
        self.progress(
            f"starting {total} honeypot task(s): {count} per template of {', '.join(self.services.values())} "
            "(local ECS scheduler)"
        )
        self.scheduler.start()
        es.callback(self.scheduler.close)
        # `sam deploy` waits for the services to stabilise (wait_for_running raises DeployError when
        # the deployment circuit breaker trips); a service that never does rolls the stack back.
        try:
            self.wait_for_running(total)
        except TimeoutError:
            raise DeployError(
                f"stack {self.stack_name}: the honeypot service did not stabilise in {WAIT_DEADLINE_S:g} s"
            ) from None
        for extra in self.scenario.extra_ips:
            host = render_host(extra.ip, extra.profile, _extra_ip_online_since(), clock.now())
            self.shodan.set_host(extra.ip, host)
            self.shodan.set_honeyscore(extra.ip, extra.profile.honeyscore)
            self._publish_to_internetdb(extra.ip, extra.profile)

    def _check_log_group_keys(self) -> None:
        """CloudWatch Logs must be able to use each encrypted log group's key, or CloudFormation
        fails to create the group and rolls the stack back."""
        for group in boto3.client("logs", region_name=REGION).describe_log_groups()["logGroups"]:
            key = group.get("kmsKeyId")
            denial = key and log_group_key_denial(self.authorizer, group["logGroupName"], key)
            if denial:
                raise DeployError(f"stack {self.stack_name} CREATE_FAILED: log group {group['logGroupName']}: {denial}")

    def _check_flow_log_delivery(self) -> None:
        from moto.ec2.models import ec2_backends

        for flow_log in ec2_backends[ACCOUNT_ID][REGION].flow_logs.values():
            if flow_log.log_destination_type != "s3":
                continue
            hive = str((getattr(flow_log, "destination_options", None) or {}).get("HiveCompatiblePartitions"))
            denial = flow_log_delivery_denial(self.authorizer, flow_log.log_destination, hive.lower() == "true")
            self.flow_log_deliveries.append(FlowLogDelivery(flow_log.id, flow_log.log_destination, denial))
            if denial:
                self.progress(
                    f"warning: VPC flow log {flow_log.id} cannot deliver to {flow_log.log_destination}: {denial}"
                )

    def _fire_alarms(self, run: SweepRun) -> None:
        """The sweep's alarms on failed and timed-out executions, and the alarms on the functions'
        own metrics (localcloud/metrics.py): who would receive them."""
        metric = {"FAILED": "ExecutionsFailed", "TIMED_OUT": "ExecutionsTimedOut"}.get(run.status)
        alarms = boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
        datapoints = emf_datapoints(self._function_log_lines_since_start())
        now_ms = int(time.time() * 1000)
        for alarm in alarms:
            if alarm.get("Namespace", "").startswith("AWS/"):
                fires = alarm.get("MetricName") == metric
            else:  # an alarm goes off when it enters ALARM, not at every evaluation while in it
                breached = breaching(alarm, datapoints, now_ms)
                fires = breached and alarm["AlarmName"] not in self._alarms_in_alarm
                if breached:
                    self._alarms_in_alarm.add(alarm["AlarmName"])
                else:
                    self._alarms_in_alarm.discard(alarm["AlarmName"])
            if not fires:
                continue
            for topic in alarm.get("AlarmActions", []):
                denial = alarm_delivery_denial(self.authorizer, topic)
                self.alarm_deliveries.append(AlarmDelivery(alarm["AlarmName"], topic, denial))

    def _function_log_lines_since_start(self) -> list[str]:
        return [line for name, log in FUNCTION_LOGS.items() for line in log.lines[self._log_marks.get(name, 0) :]]

    def _bind_shodan_profile(self, task: HoneypotTask) -> None:
        """Tell the local Shodan what it 'knows' about the IP this task just got."""
        if task.ip is None:
            return
        profile = self.scenario.profile_for_slot(task.slot)
        self.shodan.set_honeyscore(task.ip, profile.honeyscore)
        self.censys.set_host(task.ip, None)  # a recycled IP: what Censys had was the previous holder's
        if profile.censys_after_minutes is not None:
            record = censys_record(task.ip, profile.ports, profile.censys_labels)
            self.censys.publish_later(task.ip, profile.censys_after_minutes * 60 * self.time_scale, record)
        if profile.indexed_after_minutes is None:
            self.shodan.set_host(task.ip, render_host(task.ip, profile, task.started_at, clock.now()))
            self._publish_to_internetdb(task.ip, profile)
            return
        # Unknown to Shodan until its crawler gets there (Shodan's minutes, on the scaled clock).
        ip, started = task.ip, task.started_at
        self.shodan.set_host(ip, None)

        def indexed_now() -> dict[str, Any] | None:
            now = clock.now()
            age = (now - started).total_seconds() / 3600  # the banners are stamped now
            return render_host(ip, dataclasses.replace(profile, banner_age_hours=age), started, now)

        self.shodan.index_later(ip, profile.indexed_after_minutes * 60 * self.time_scale, indexed_now)
        self._publish_to_internetdb(ip, profile, after_minutes=profile.indexed_after_minutes)

    def _publish_to_internetdb(self, ip: str, profile: Profile, after_minutes: float = 0.0) -> None:
        """InternetDB is weekly: it shows what Shodan has on ``ip`` only when the scenario says its
        refresh comes (``internetdb_after_minutes`` after Shodan had the IP); until then it answers
        what it had (404 for an IP it never had; a recycled IP's previous holder's document)."""
        if profile.internetdb_after_minutes is not None:
            delay = (after_minutes + profile.internetdb_after_minutes) * 60 * self.time_scale
            self.shodan.publish_to_internetdb(ip, delay)

    def advance_clock(self, to: datetime) -> None:
        """Move the simulated wall clock forward to ``to`` (a scenario's next step); call it between
        sweeps, never during one."""
        if not self.simulated_wall_clock:
            raise RuntimeError("advance_clock needs LocalCloud(simulated_wall_clock=True)")
        self.clock.advance_to(to)

    # -- running sweeps ------------------------------------------------------------------------
    def run_sweep(self, name: str | None = None, timeout: float = 300.0) -> SweepRun:
        """Start the sweep as its EventBridge schedule does, and wait for it to finish."""
        name = name or f"sweep-{clock.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        sfn = boto3.client("stepfunctions", region_name=REGION)
        rule = next((v for k, v in self.stack.physical_ids.items() if k.endswith("Sweep")), "sweep-schedule")
        event = _scheduled_event(self.stack.region, rule)
        # EventBridge starts the sweep with the schedule's role.
        with acting_as(role_principal(self.stack.schedule_role_arn)):
            arn = sfn.start_execution(stateMachineArn=self.stack.state_machine_arn, name=name, input=json.dumps(event))[
                "executionArn"
            ]
        return self._finished_run(name, arn, timeout)

    def _finished_run(self, name: str, arn: str, timeout: float) -> SweepRun:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise SweepTimeout(f"execution {name} still RUNNING after {timeout:.0f} s")
            time.sleep(0.02)
        history: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
            history.extend(page["events"])
        output = described.get("output")
        run = SweepRun(
            name=name,
            execution_arn=arn,
            status=described["status"],
            input=json.loads(described.get("input") or "{}"),
            output=json.loads(output) if output else None,
            error=described.get("error"),
            cause=described.get("cause"),
            started=described["startDate"],
            stopped=described.get("stopDate"),
            history=history,
        )
        self._fire_alarms(run)
        return run

    def post_to_function_url(self, url: str, body: bytes, headers: dict[str, str] | None = None) -> HttpResponse:
        """An HTTPS POST to one of the stack's function URLs (e.g. the ``ShodanWebhookUrl`` output),
        as anyone on the internet would send it."""
        return self.function_urls.request(url, "POST", headers or {}, body)

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of the sweep so far, oldest first (name, status, input)."""
        sfn = boto3.client("stepfunctions", region_name=REGION)
        listed = [e for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=self.stack.state_machine_arn) for e in page["executions"]]  # fmt: skip
        described = [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]
        return sorted(described, key=lambda e: e["startDate"])

    def wait_for_execution(self, name: str, timeout: float = 300.0) -> SweepRun:
        """Wait for the execution ``name`` (started by anyone: the webhook, say) to finish."""
        arn = f"{self.stack.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        return self._finished_run(name, arn, timeout)

    # -- scheduled functions ---------------------------------------------------------------------
    def fire_schedule(self, logical_id: str) -> ScheduledRun:
        """Fire the EventBridge rule whose target is function ``logical_id``, as EventBridge does:
        a DISABLED rule fires nothing; EventBridge invokes a Lambda target under the function's
        resource policy (the permission SAM adds for a Schedule event: ``events.amazonaws.com``
        from the rule's ARN), asynchronously: Lambda retries a failed run as the function's
        EventInvokeConfig says (2 retries by default) and then sends its invocation record to
        the on-failure destination, with the function's role (Lambda developer guide,
        "Asynchronous invocation"; "Using resource-based policies for Lambda")."""
        events, lam = boto3.client("events", region_name=REGION), boto3.client("lambda", region_name=REGION)
        function = self.stack.functions[logical_id]
        configuration = lam.get_function_configuration(FunctionName=function)
        arn = configuration["FunctionArn"]
        for rule in events.list_rules()["Rules"]:
            if any(t["Arn"] == arn for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]):
                break
        else:
            raise DeployError(f"no EventBridge rule targets {logical_id}")
        run = ScheduledRun(rule["Arn"], rule.get("ScheduleExpression", ""), rule.get("State", "ENABLED"))
        if run.state != "ENABLED":
            return dataclasses.replace(run, refused=f"the rule is {run.state}")
        denial = lambda_invoke_denial(self.authorizer, arn, lam.get_policy(FunctionName=function)["Policy"], run.rule)
        if denial:
            return dataclasses.replace(run, refused=denial)
        try:
            config = lam.get_function_event_invoke_config(FunctionName=function)
        except lam.exceptions.ResourceNotFoundException:
            config = {}
        event = _scheduled_event(REGION, rule["Name"])
        retries = int(config.get("MaximumRetryAttempts", 2))
        for attempt in range(1, retries + 2):
            answer = lam.invoke(FunctionName=function, Payload=json.dumps(event).encode())
            payload = json.loads(answer["Payload"].read() or b"null")
            error = answer.get("FunctionError") and (payload or {}).get("errorType", answer["FunctionError"])
            run = dataclasses.replace(run, attempts=attempt, result=payload, error=error)
            if not error:
                return run
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            record = _invocation_record(arn, event, payload, run.attempts)
            with acting_as(role_principal(configuration["Role"])):  # Lambda sends it with the function's role
                boto3.client("sns", region_name=REGION).publish(TopicArn=destination, Message=json.dumps(record))
            run = dataclasses.replace(run, failure_sent_to=destination)
        return run

    def open_link(self, url: str, now: datetime | None = None) -> OpenedLink:
        """Open a presigned GET link as a browser would (localcloud/presigned.py): the object, or
        LinkRefused with S3's answer."""
        return open_presigned(url, self.authorizer, now)

    # -- what the user looks at afterwards -----------------------------------------------------
    def fault(
        self, service: str, operation: str, answer: Answer, times: int | None = None, by: str | None = None
    ) -> ApiFault:
        """From now on AWS answers the stack's ``service``:``operation`` calls (of a principal whose
        ARN contains ``by``) with ``answer``, the first ``times`` of them or all; the fault counts
        the calls (``ApiFault.calls``)."""
        fault = ApiFault(service, operation, answer, times=times, by=by)
        self.authorizer.faults.append(fault)
        return fault

    def retries(self, run: SweepRun, state: str, ip: str | None = None) -> list[RetryWait]:
        """Every retry of ``state`` Step Functions made in ``run`` (in a Map: of the iteration for
        ``ip``), in order: what the console's history shows as the state's repeated attempts."""
        return [
            wait
            for wait in RETRY_WAITS
            if wait.execution == run.name
            and wait.state == state
            and (ip is None or (isinstance(wait.item, dict) and wait.item.get("ip") == ip))
        ]

    def emails(self) -> list[Email]:
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT_ID][REGION].topics.get(self.stack.output("AlertTopicArn"))
        if topic is None:  # deleted (a fault test)
            return []
        return [Email(subject=subject or "", body=message) for _id, message, subject, *_ in topic.sent_notifications]

    def function_log_lines(self) -> list[str]:
        """Every line the functions logged (this process), e.g. to check no secret is logged."""
        return [line for log in FUNCTION_LOGS.values() for line in log.lines]

    def evidence_keys(self) -> list[str]:
        s3 = boto3.client("s3", region_name=REGION)
        bucket = self.stack.output("EvidenceBucketName")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def evidence(self, key: str) -> Any:
        s3 = boto3.client("s3", region_name=REGION)
        body = s3.get_object(Bucket=self.stack.output("EvidenceBucketName"), Key=key)["Body"].read()
        return json.loads(body)

    def sweep(self, name: str | None = None, timeout: float = 300.0) -> tuple[SweepRun, SweepReport]:
        """Run one sweep and gather what it did: verdicts, S3 objects, emails, rotations."""
        before = self.snapshot()
        run = self.run_sweep(name=name, timeout=timeout)
        return run, self.report(run, before)

    def push_sweeps(self, timeout: float = 300.0) -> list[tuple[SweepRun, SweepReport]]:
        """Wait for Shodan's scheduled indexings (a scenario's ``indexed_after_minutes``), their
        pushes to the webhook and the sweeps those started; what each sweep did, in start order."""
        deadline = time.monotonic() + timeout
        while self.shodan.pending_indexings():
            if time.monotonic() > deadline:
                raise SweepTimeout(f"Shodan's indexings still pending after {timeout:.0f} s")
            time.sleep(0.05)
        done: list[tuple[SweepRun, SweepReport]] = []
        for execution in [e for e in self.executions() if e["name"].startswith("push-")]:
            before = self.snapshot()
            run = self.wait_for_execution(execution["name"], timeout=max(1.0, deadline - time.monotonic()))
            done.append((run, self.report(run, before)))
        return done

    def snapshot(self) -> tuple[int, set[str]]:
        """What a report is measured from: the emails sent and the S3 objects so far."""
        return len(self.emails()), set(self.evidence_keys())

    def report(self, run: SweepRun, before: tuple[int, set[str]]) -> SweepReport:
        """What ``run`` did (a sweep started by anyone) since ``before`` (``snapshot()``)."""
        emails_before, keys_before = before
        rotated = rotation_outcome(run.history)
        checked = [
            {k: v for k, v in (("ip", r.get("ip")), ("verdict", r.get("verdict")), ("error", r.get("error"))) if v}
            for r in self.sweep_results(run.name)
        ]
        record_key = f"sweeps/{run.name}.json"
        experiment = (self.evidence(record_key).get("experiment") if record_key in self.evidence_keys() else None) or {}
        report = SweepReport(
            status=run.status,
            execution_arn=run.execution_arn,
            checked=checked,
            s3_keys=[k for k in self.evidence_keys() if k not in keys_before],
            emails=[{"subject": e.subject, "body": e.body} for e in self.emails()[emails_before:]],
            rotated=rotated,
            error=run.error,
            cause=run.cause,
            arms=experiment.get("arms"),
            scans=scan_outcomes(run.history),
        )
        return report

    def sweep_results(self, execution: str) -> list[dict[str, Any]]:
        """Every IP's result: from the sweep record, else (a sweep that failed before writing it)
        none."""
        record_key = f"sweeps/{execution}.json"
        if record_key in self.evidence_keys():
            return list(self.evidence(record_key).get("results") or [])
        return []

    # -- attacks on the honeypots and where their events end up -------------------------------
    def receive_attacks(self, task: HoneypotTask, records: Iterable[str]) -> int:
        """Conpot in ``task`` logs ``records`` (its JSON event records, one per line, as
        conpot/core/loggers/json_log.py writes them) to its JSON event log, as when attackers
        connect; the task's log shipper reads them on its next turn. Returns how many."""
        lines = list(records)
        for line in lines:
            if "\n" in line or not isinstance(json.loads(line), dict):
                raise ValueError(f"a Conpot event record is one JSON object on one line, not {line!r}")
        with self.scheduler.paused():
            if task.containers is None or not task.running:
                raise ValueError(f"task {task.task_arn} is not running")
            [event_log] = task.containers.event_logs
            event_log.append(lines)
        return len(lines)

    def audit_served_template(self, task: HoneypotTask) -> Any:
        """The static fingerprint audit of what ``task``'s Conpot serves: the template it started
        from, with cpppo's identity from its working directory (off the volumes, the image's own
        root, which holds no cpppo.cfg). An ``ics_honeynet.audit.assess.Report``."""
        from ics_honeynet.audit.assess import assess
        from ics_honeynet.audit.static import audit_template

        served = task.containers.served if task.containers else None
        if served is None:
            raise ValueError(f"task {task.task_arn} runs no Conpot")
        return assess(audit_template(served.directory, served.working_directory or conpot_image.IMAGE / "no-cpppo"))

    def stop_honeypot(
        self, task: HoneypotTask, reason: str = "stopped by localcloud", timeout: float = WAIT_DEADLINE_S
    ) -> None:
        """Stop ``task`` (ECS StopTask) and wait until ECS has stopped its containers."""
        self.scheduler.stop_task(task.task_arn, reason)
        self.wait_until_stopped(task, timeout)

    def wait_until_stopped(self, task: HoneypotTask, timeout: float = WAIT_DEADLINE_S) -> None:
        """Wait until ECS has stopped ``task``'s containers (after a StopTask)."""
        deadline = time.monotonic() + timeout
        while task.running:
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {task.task_arn} still running {timeout} s after StopTask")
            time.sleep(0.02)

    def wait_until_shipped(self, timeout: float = WAIT_DEADLINE_S) -> None:
        """Wait until every running task's shippers have read all their lines (and so sent them
        down the pipeline: CloudWatch Logs forwards and Firehose delivers as they arrive)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.scheduler.paused():
                unread = sum(
                    len(tail.unread())
                    for task in self.scheduler.history
                    if task.running and task.containers is not None
                    for tail in task.containers.tails
                )
            if not unread:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{unread} event line(s) still unread by the shippers after {timeout} s")
            time.sleep(0.02)

    def stored_events(self, prefix: str = "events/conpot/") -> dict[str, list[str]]:
        """The event records in the research-data bucket under ``prefix``: S3 key -> its lines
        (gunzipped), read as a laptop would after ``aws s3 sync``."""
        s3 = boto3.client("s3", region_name=REGION)
        bucket = self.stack.output("ResearchDataBucketName")
        stored: dict[str, list[str]] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                text = gzip.decompress(body) if obj["Key"].endswith(".gz") else body
                stored[obj["Key"]] = text.decode().splitlines()
        return stored

    def event_delivery_failures(self) -> list[str]:
        """Why events did not reach S3: a forward CloudWatch Logs could not make, a delivery
        Firehose could not write, lines a shipper never read."""
        from localcloud.moto_patches import firehose, logs

        return [
            *(
                f"CloudWatch Logs -> Firehose ({f.log_group}, {f.events} events): {f.error}"
                for f in logs.FORWARDING_FAILURES
            ),
            *(f"Firehose -> S3 ({f.key}, {f.records} records): {f.error}" for f in firehose.DELIVERY_FAILURES),
            *(f"never shipped: {line}" for line in self.scheduler.lost_event_lines),
        ]

    @property
    def services(self) -> dict[str, str]:
        """The honeypot services, name -> the Conpot template it serves (output HoneypotServiceNames)."""
        pairs = (item.partition("=") for item in self.stack.output("HoneypotServiceNames").split(","))
        return {service: template for template, _, service in pairs}

    def desired_count(self) -> int:
        """Tasks every honeypot service wants, together."""
        described = boto3.client("ecs", region_name=REGION).describe_services(
            cluster=self.stack.output("HoneypotClusterName"), services=list(self.services)
        )["services"]
        return sum(int(service["desiredCount"]) for service in described)

    def wait_for_running(self, count: int, timeout: float = WAIT_DEADLINE_S) -> list[HoneypotTask]:
        """Tasks RUNNING with a public IP; DeployError if the tasks cannot start at all (the ECS
        deployment circuit breaker), TimeoutError if fewer than ``count`` run in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.scheduler.deployment_failed:
                raise DeployError(
                    f"stack {self.stack_name}: ECS deployment circuit breaker was triggered; the honeypot task "
                    f"failed to start: {self.scheduler.deployment_failed}"
                )
            running = [t for t in self.scheduler.running_tasks() if t.ip]
            if len(running) >= count:
                return running
            time.sleep(0.02)
        raise TimeoutError(f"fewer than {count} honeypot tasks RUNNING with a public IP after {timeout} s")


_container_numbers = itertools.count(1)  # container 0 is the copy tests import directly


def _containers_of(handler: str, code_dir: Path, clocks: ClockPatches, started: list[Container]) -> Any:
    """A factory of cold containers: each is a fresh import of the package's modules the handler
    needs (its own globals and cached clients, its logs bound to this local cloud's stdout
    router, its clock this local cloud's scaled one), added to ``started``."""

    def container(_number: int) -> Any:
        loaded = load_container(handler, next(_container_numbers), code_dir)
        clocks.apply(loaded.modules.values())
        started.append(loaded)
        return loaded.handler

    container.is_container_factory = True  # type: ignore[attr-defined]
    return container


def _merged_environment(configurations: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The union of the deployed functions' environments; handlers run in this process."""
    merged: dict[str, str] = {}
    for configuration in configurations.values():
        for key, raw in configuration.get("Environment", {}).get("Variables", {}).items():
            value = str(raw)  # moto keeps a Number parameter's type; Lambda's environment is text
            if merged.get(key, value) != value:
                raise RuntimeError(
                    f"functions disagree on environment variable {key}; the local cloud runs them in one process"
                )
            merged[key] = value
    return merged


def _extra_ip_online_since() -> datetime:
    """Extra IPs are not our tasks: the local Shodan dates their banners from a day ago."""
    return clock.now() - timedelta(days=1)


def _invocation_record(function_arn: str, event: Any, payload: Any, attempts: int) -> dict[str, Any]:
    """What Lambda sends an on-failure destination for an asynchronous invocation whose retries
    are exhausted (Lambda developer guide, "Capturing records of Lambda asynchronous invocations")."""
    return {
        "version": "1.0",
        "timestamp": clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": payload,
    }


def _scheduled_event(region: str, rule: str) -> dict[str, Any]:
    """The event EventBridge sends for a ``Schedule`` rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def _clear_function_caches() -> None:
    """Powertools caches SSM parameters per process; a new local cloud must not see the last one's."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


@contextlib.contextmanager
def _echo_function_logs(echo: bool) -> Any:
    saved = FunctionLog.echo
    FunctionLog.echo = echo
    try:
        yield
    finally:
        FunctionLog.echo = saved


@contextlib.contextmanager
def _environment(values: dict[str, str], drop: tuple[str, ...] = ()) -> Any:
    saved = {k: os.environ.get(k) for k in (*values, *drop)}
    try:
        for key in drop:
            os.environ.pop(key, None)
        os.environ.update(values)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
