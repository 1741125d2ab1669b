"""Plays ECS's service scheduler for the honeynet's services inside moto (one per Conpot template).

moto creates ECS services but never starts their tasks, and the tasks ``run_task`` creates
have no public IP. On AWS the service scheduler keeps ``desiredCount`` tasks RUNNING and
Fargate gives each a public IP that is released when the task stops. This class does the
same, in a background thread:

- starts a task (Fargate, the service's network configuration, group ``service:<name>``)
  whenever fewer than ``desiredCount`` are RUNNING, and gives its ENI a public IP (an EIP);
- stamps ``startedAt`` on the task (moto leaves it empty);
- releases the public IP of a stopped task, so a replacement always lands on a new IP.

Every task it starts is reported to ``on_task_started`` (the Shodan scenario binds what Shodan
"knows" about the new IP there) and kept in ``history``.

Starting a task runs Fargate's rules (localcloud/fargate.py): its containers in dependency
order, volumes root-owned, the awslogs stream created *with the task execution role* (through
the local cloud's IAM gate, so a role that may not write its logs fails the task as on AWS). A
task that fails to start is STOPPED with Fargate's reason and kept in ``failed_starts``; after
as many failures as ECS's deployment circuit breaker tolerates, ``deployment_failed`` holds the
reason and no more tasks are started (ECS marks the deployment FAILED; CloudFormation rolls back).

An error of the background loop is kept in ``errors`` (the loop goes on, as ECS's would); every
scheduler is listed in ``SCHEDULERS`` until it has stopped and been checked, so the tests fail a
test during which one erred (tests/conftest.py).

A task's programs (the init container's ``python3``) run in a directory of their own under the
scheduler's workspace and reach one task metadata endpoint (``close`` removes both).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from localcloud import clock
from localcloud.constants import ACCOUNT_ID
from localcloud.fargate import PROGRAM_TIMEOUT_S, TaskHost, TaskOutcome, awslogs_stream, start_task
from localcloud.iam import acting_as, role_principal
from localcloud.task_metadata import TaskMetadataEndpoint


@dataclass
class HoneypotTask:
    task_arn: str
    ip: str | None
    eni: str
    started_at: datetime
    slot: int  # 0-based order in which the scheduler started tasks
    service: str = ""  # the ECS service that started it
    allocation_id: str | None = None
    association_id: str | None = None
    stopped_at: datetime | None = None
    stopped_reason: str | None = None
    # What Fargate runs in it: the files its containers write, the shippers tailing them.
    containers: TaskOutcome | None = None
    execution_role_arn: str | None = None

    @property
    def running(self) -> bool:
        return self.stopped_at is None


# A pass ends after at most one more task start once stop() is asked (its programs time out).
STOP_DEADLINE_S = 3 * PROGRAM_TIMEOUT_S

# Schedulers created and not yet checked once stopped (the tests' check on their errors).
SCHEDULERS: list[HoneynetScheduler] = []


def errors_so_far() -> dict[HoneynetScheduler, int]:
    """How many errors each listed scheduler has recorded: a mark for ``errors_since``."""
    return {scheduler: len(scheduler.errors) for scheduler in list(SCHEDULERS)}


def errors_since(mark: dict[HoneynetScheduler, int]) -> list[str]:
    """The errors schedulers recorded after ``mark`` (those created since included); the
    schedulers that have stopped are checked for good and no longer listed."""
    errors = [e for scheduler in list(SCHEDULERS) for e in scheduler.errors[mark.get(scheduler, 0) :]]
    SCHEDULERS[:] = [scheduler for scheduler in SCHEDULERS if scheduler.looping]
    return errors


class HoneynetScheduler:
    """ECS's service scheduler for one service (see the module's docstring)."""

    def __init__(
        self,
        *,
        cluster: str,
        service: str = "",
        services: Sequence[str] = (),
        region: str = "us-east-1",
        on_task_started: Callable[[HoneypotTask], None] = lambda _task: None,
        interval: float = 0.1,
    ) -> None:
        self.cluster = cluster
        self.services = list(services) or [service]
        if not all(self.services):
            raise ValueError("the scheduler needs the name of at least one service")
        self.service = self.services[0]
        self.region = region
        self.on_task_started = on_task_started
        self.interval = interval
        self.history: list[HoneypotTask] = []
        self.assign_public_ips = True  # tests switch this off to model a task still attaching
        self._ecs = boto3.client("ecs", region_name=region)
        self._ec2 = boto3.client("ec2", region_name=region)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        self._logs = boto3.client("logs", region_name=region)
        self.failed_starts: list[str] = []
        self._failures: dict[str, int] = {}  # per service: ECS's circuit breaker counts per deployment
        self.deployment_failed: str | None = None
        # Event lines a shipper never wrote to its stream (it stopped before reading them).
        self.lost_event_lines: list[str] = []
        SCHEDULERS.append(self)
        self._workspace = tempfile.TemporaryDirectory(prefix="localcloud-tasks-")
        self._metadata: TaskMetadataEndpoint | None = None

    # -- the moto side -----------------------------------------------------------------------
    def _backend(self) -> tuple[Any, str]:
        """moto's ECS backend and the cluster's name (the keys of its task and service maps)."""
        from moto.ecs.models import ecs_backends

        return ecs_backends[ACCOUNT_ID][self.region], self.cluster.rsplit("/", 1)[-1]

    def _backend_tasks(self, service: str | None = None) -> list[Any]:
        backend, cluster_name = self._backend()
        groups = {f"service:{s}" for s in ([service] if service else self.services)}
        return [t for t in backend.tasks.get(cluster_name, {}).values() if t.group in groups]

    def _desired_count(self, service: str | None = None) -> int:
        backend, cluster_name = self._backend()
        found = backend.services.get(f"{cluster_name}:{service or self.service}")
        if found is None:
            raise RuntimeError(f"ECS service {service or self.service} not found in {self.cluster}")
        return int(found.desired_count)

    def _describe_service(self, service: str | None = None) -> dict[str, Any]:
        name = service or self.service
        services = self._ecs.describe_services(cluster=self.cluster, services=[name])["services"]
        if not services:
            raise RuntimeError(f"ECS service {name} not found in {self.cluster}")
        return services[0]

    # -- scheduling --------------------------------------------------------------------------
    def reconcile(self) -> None:
        """One pass of the scheduler: release stopped tasks' IPs, start missing tasks (each service)."""
        with self._lock:
            by_arn = {t.task_arn: t for t in self.history}
            for name in self.services:
                running = 0
                for task in self._backend_tasks(name):
                    known = by_arn.get(task.task_arn)
                    if task.desired_status == "STOPPED" or task.last_status == "STOPPED":
                        if known is not None and known.running:
                            self._release(known, task.stopped_reason)
                    else:
                        running += 1
                        if known is not None:
                            self.ship_events(known)
                if running >= self._desired_count(name) or self.deployment_failed:
                    continue  # the common case, checked without an API call: keeps the loop light
                service = self._describe_service(name)
                for _ in range(max(0, int(service["desiredCount"]) - running)):
                    if self._stop.is_set():
                        return  # closing: stop() waits for this pass, so start nothing more
                    if self._start_task(service) is None and self.deployment_failed:
                        break

    def start_task(self, service: str | None = None) -> HoneypotTask | None:
        """Start one task for a service (the first one) now, as the scheduler would; None if it failed."""
        with self._lock:
            return self._start_task(self._describe_service(service))

    def _circuit_breaker_threshold(self, service: str) -> int:
        # ECS: the failed-task threshold is half the desired count, at least 3 and at most 200.
        return max(3, min(200, -(-self._desired_count(service) // 2)))

    def _fargate_start(self, task_definition_arn: str, task_arn: str) -> tuple[TaskOutcome, str | None]:
        """Run the task's containers as Fargate would: (what runs, its execution role)."""
        definition = self._ecs.describe_task_definition(taskDefinition=task_definition_arn)["taskDefinition"]
        role_arn = definition.get("executionRoleArn")
        task_id = task_arn.rsplit("/", 1)[-1]

        def create_log_stream(group: str, stream: str) -> str | None:
            """The ECS agent creates the stream with the execution role; it will write to it with
            the same role (checked here, written only when the container writes)."""
            from localcloud.authorizer import active_authorizer
            from localcloud.aws_requests import log_stream_arn
            from localcloud.iam import AuthRequest

            if role_arn is None:
                return "AccessDeniedException: the task has no execution role"
            role = role_principal(role_arn)
            try:
                with acting_as(role):
                    self._logs.create_log_stream(logGroupName=group, logStreamName=stream)
            except ClientError as error:
                return f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"
            authorizer = active_authorizer()
            put = AuthRequest("logs:PutLogEvents", log_stream_arn(self.region, group, stream))
            denial = authorizer.first_denial(role, [put]) if authorizer else None
            return f"AccessDeniedException: {denial.message()}" if denial else None

        if self._metadata is None:
            self._metadata = TaskMetadataEndpoint()
        workspace = Path(self._workspace.name) / task_id
        workspace.mkdir()
        host = TaskHost(workspace, task_arn, definition["family"], int(definition.get("revision", 1)), self._metadata)
        outcome = start_task(definition, task_id, create_log_stream, host)
        if outcome.running and role_arn is not None:
            self._console_start_lines(definition, task_id, outcome, role_arn)
        return outcome, role_arn

    def _console_start_lines(self, definition: dict[str, Any], task_id: str, outcome: TaskOutcome, role: str) -> None:
        """Each container's start on its console stream (Conpot prints a banner; doctor's logs
        check reads it), and what a program that ran printed. A shipper's stream carries only the
        file it tails: nothing is added there, or it would reach the research bucket as a fake
        event."""
        shipped = {(tail.log_group, tail.log_stream) for tail in outcome.tails}
        now = int(time.time() * 1000)
        with acting_as(role_principal(role)):  # the awslogs driver, with the execution role
            for container in definition.get("containerDefinitions", []):
                where = awslogs_stream(container, task_id)
                if where is None or where in shipped:
                    continue
                self._logs.put_log_events(
                    logGroupName=where[0],
                    logStreamName=where[1],
                    logEvents=[
                        {"timestamp": now, "message": line}
                        for line in (
                            f"container {container['name']} started (localcloud)",
                            *outcome.console.get(container["name"], ()),
                        )
                    ],
                )

    # -- the containers' log shipping ---------------------------------------------------------
    def ship_events(self, task: HoneypotTask) -> None:
        """Each shipper of ``task`` writes the lines it has not read yet to its stream, with the
        execution role (as the awslogs driver does)."""
        if task.containers is None or task.execution_role_arn is None:
            return
        for tail in task.containers.tails:
            self._ship(task, tail)

    def _ship(self, task: HoneypotTask, tail: Any) -> None:
        lines = tail.unread()
        if not lines:
            return
        now = int(time.time() * 1000)
        with acting_as(role_principal(task.execution_role_arn or "")):
            self._logs.put_log_events(
                logGroupName=tail.log_group,
                logStreamName=tail.log_stream,
                logEvents=[{"timestamp": now, "message": line} for line in lines],
            )
        tail.shipped += len(lines)

    def _stop_containers(self, task: HoneypotTask) -> None:
        """ECS stops the task's containers: shippers that stop last and gracefully read the
        lines left; the others' unread lines are lost."""
        if task.containers is None:
            return
        flushed = task.containers.tails_flushed_at_stop()
        for tail in task.containers.tails:
            if any(tail is f for f in flushed):
                self._ship(task, tail)
            else:
                self.lost_event_lines.extend(tail.unread())

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Nothing is scheduled or shipped inside the block (tests: write lines and stop a
        task before any shipper reads them)."""
        with self._lock:
            yield

    def _start_task(self, service: dict[str, Any]) -> HoneypotTask | None:
        network = service["networkConfiguration"]["awsvpcConfiguration"]
        response = self._ecs.run_task(
            cluster=self.cluster,
            taskDefinition=service["taskDefinition"],
            launchType="FARGATE",
            count=1,
            group=f"service:{service['serviceName']}",
            startedBy=f"ecs-svc/{service['serviceArn'].rsplit('/', 1)[-1][:19]}",
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": network["subnets"],
                    "securityGroups": network.get("securityGroups", []),
                    "assignPublicIp": network.get("assignPublicIp", "ENABLED"),
                }
            },
        )
        described = response["tasks"][0]
        containers, execution_role = self._fargate_start(described["taskDefinitionArn"], described["taskArn"])
        failure = None if containers.running else containers.stopped_reason
        name = service["serviceName"]
        if failure is not None:
            self._ecs.stop_task(cluster=self.cluster, task=described["taskArn"], reason=failure[:1024])
            self.failed_starts.append(failure)
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] >= self._circuit_breaker_threshold(name):
                self.deployment_failed = f"service {name}: {failure}"
            return None
        eni = next(
            d["value"]
            for a in described["attachments"]
            if a["type"] == "ElasticNetworkInterface"
            for d in a["details"]
            if d["name"] == "networkInterfaceId"
        )
        started_at = clock.now()
        for task in self._backend_tasks(name):
            if task.task_arn == described["taskArn"]:
                task.started_at = started_at  # moto leaves startedAt empty
        honeypot = HoneypotTask(
            task_arn=described["taskArn"],
            ip=None,
            eni=eni,
            started_at=started_at,
            slot=len(self.history),
            service=name,
            containers=containers,
            execution_role_arn=execution_role,
        )
        if self.assign_public_ips:
            self._assign_public_ip(honeypot)
        self.history.append(honeypot)
        self.on_task_started(honeypot)
        return honeypot

    def _assign_public_ip(self, honeypot: HoneypotTask) -> None:
        used = {t.ip for t in self.history}
        for _ in range(5):
            allocation = self._ec2.allocate_address(Domain="vpc")
            if allocation["PublicIp"] not in used:
                break
            self._ec2.release_address(AllocationId=allocation["AllocationId"])
        honeypot.allocation_id = allocation["AllocationId"]
        honeypot.ip = allocation["PublicIp"]
        honeypot.association_id = self._ec2.associate_address(
            AllocationId=allocation["AllocationId"], NetworkInterfaceId=honeypot.eni
        )["AssociationId"]

    def _release(self, honeypot: HoneypotTask, reason: str | None) -> None:
        self._stop_containers(honeypot)
        # Fargate releases a task's public IP when it stops.
        if honeypot.association_id:
            self._ec2.disassociate_address(AssociationId=honeypot.association_id)
        if honeypot.allocation_id:
            self._ec2.release_address(AllocationId=honeypot.allocation_id)
        honeypot.stopped_at = clock.now()
        honeypot.stopped_reason = reason

    # -- background loop ---------------------------------------------------------------------
    def start(self) -> HoneynetScheduler:
        self.reconcile()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="localcloud-ecs-scheduler", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except Exception as exc:  # keep scheduling; surface the error to the caller
                self.errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(self.interval)

    @property
    def looping(self) -> bool:
        """Whether the background loop runs (started, not stopped)."""
        return self._thread is not None

    def stop(self) -> None:
        """Stop the loop once its pass in progress has ended (a task start runs its programs: seconds
        on a loaded machine). Going on without it would leave it starting a task in a workspace
        ``close`` removes, and in whatever moto runs next."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_DEADLINE_S)
            if self._thread.is_alive():
                raise RuntimeError(f"the ECS scheduler's pass did not end {STOP_DEADLINE_S} s after stop")
            self._thread = None

    def close(self) -> None:
        """Stop, and remove what the tasks' programs ran in (their volumes' files included)."""
        self.stop()
        if self._metadata is not None:
            self._metadata.close()
            self._metadata = None
        self._workspace.cleanup()

    # -- views -------------------------------------------------------------------------------
    def running_tasks(self) -> list[HoneypotTask]:
        with self._lock:
            return [t for t in self.history if t.running]

    def stop_task(self, task_arn: str, reason: str = "stopped by localcloud") -> None:
        self._ecs.stop_task(cluster=self.cluster, task=task_arn, reason=reason)
