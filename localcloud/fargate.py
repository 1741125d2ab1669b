"""What Fargate does when it registers and starts a task, where moto does nothing.

moto registers any task definition and "starts" any task. Fargate refuses or fails them; the
rules below are the ones our task definition meets, each with its source:

- ``tmpfs`` is not supported on Fargate (ECS developer guide, "Task definition parameters for
  Fargate": linuxParameters.tmpfs); registration fails.
- The containers' hard memory limits must fit in the task's memory (ECS API, ContainerDefinition
  ``memory``).
- A ``dependsOn`` names a container of the task; a container with a ``SUCCESS`` or ``COMPLETE``
  dependency starts only once it exited (with 0 for SUCCESS), else the task stops (ECS
  ContainerDependency).
- An essential container that exits stops the task ("Essential container in task exited").
- Bind-mount task volumes are created owned by root, mode 0755 (ECS bind-mount docs;
  aws/containers-roadmap#938). A process running as another user cannot write them unless a
  container running as root prepared them first; with ``readonlyRootFilesystem`` nothing outside
  a volume is writable.
- The awslogs driver creates its stream ``PREFIX/CONTAINER/TASK_ID`` with the task execution
  role (``logs:CreateLogStream``, ``logs:PutLogEvents``); if the role may not, the task stops
  with ``ResourceInitializationError``.
- A log-shipping container (``sh -c`` running ``tail -F FILE``, see ``Tail``) reads a file another
  container writes on a shared volume (read-only mounts included) and writes its lines to its
  awslogs stream. ``tail -f`` (not ``-F``) of a file that does not exist yet exits at once;
  a directory the container's user may not read gives nothing.
- Stopping a task: ECS stops containers in the reverse order of their dependencies ("When a
  dependency is defined for container startup, for container shutdown it is reversed", ECS API
  reference, ContainerDependency); containers with no dependency path between them get SIGTERM
  together. A shipper's unread lines reach its stream only if it stops after every container
  writing the file and traps SIGTERM to keep reading for a while (``trap '... sleep N ...'
  TERM``); otherwise they are lost (``TaskOutcome.stop``).

What the local cloud knows about images (their user, what they write at start) is in
``IMAGES``, the one place for it. An image it does not know is an error, never a guess.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class TaskDefinitionRejected(ValueError):
    """What ECS answers RegisterTaskDefinition (ClientException) for a Fargate task definition."""


class UnknownImage(RuntimeError):
    pass


@dataclass(frozen=True)
class ImageFacts:
    user: str  # the image's USER (uid)
    # Environment variables naming paths the default command writes at start:
    # variable -> (default, "dir" for a directory it writes in, "file" for a file it creates).
    writes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The variable naming the file its attack events go to, one JSON record per line.
    event_log: str | None = None


# T-Pot's Conpot: USER conpot (uid 2000); it opens its logs and temp dir at start
# (shared/reference/shodan-and-tpot-facts.md, "T-Pot's Conpot").
_CONPOT = ImageFacts(
    user="2000",
    writes={
        "CONPOT_TMP": ("/tmp/conpot", "dir"),  # noqa: S108 - a path inside the emulated container
        "CONPOT_LOG": ("/var/log/conpot/conpot.log", "file"),
        "CONPOT_JSON_LOG": ("/var/log/conpot/conpot.json", "file"),
    },
    event_log="CONPOT_JSON_LOG",
)
IMAGES: dict[str, ImageFacts] = {
    "dtagdevsec/conpot": _CONPOT,
    "ghcr.io/telekom-security/conpot": _CONPOT,
}


def image_facts(image: str) -> ImageFacts:
    repository = re.sub(r"(@sha256:[0-9a-f]+|:[^/:]+)$", "", image)
    repository = repository.removeprefix("docker.io/").removeprefix("index.docker.io/")
    if repository not in IMAGES:
        raise UnknownImage(f"the local cloud does not know image {image}: add its facts to localcloud/fargate.py")
    return IMAGES[repository]


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------
def check_registration(task_definition: Mapping[str, Any]) -> None:
    """Raise ``TaskDefinitionRejected`` where ECS would refuse a Fargate task definition."""
    containers = task_definition.get("containerDefinitions", [])
    names = {c["name"] for c in containers}
    for container in containers:
        if (container.get("linuxParameters") or {}).get("tmpfs"):
            raise TaskDefinitionRejected(
                f"container {container['name']}: tmpfs is not supported on Fargate (linuxParameters.tmpfs)"
            )
        for dependency in container.get("dependsOn") or []:
            if dependency["containerName"] not in names:
                raise TaskDefinitionRejected(
                    f"container {container['name']} depends on {dependency['containerName']}, which is not in the task"
                )
    hard_limits = sum(int(c.get("memory") or 0) for c in containers)
    task_memory = int(task_definition.get("memory") or 0)
    if task_memory and hard_limits > task_memory:
        raise TaskDefinitionRejected(
            f"the containers' memory ({hard_limits} MiB) is more than the task's memory ({task_memory} MiB)"
        )


# ---------------------------------------------------------------------------------------------
# Starting a task
# ---------------------------------------------------------------------------------------------
@dataclass
class Volume:
    owner: str = "0"
    mode: int = 0o755
    # Files on the volume (path inside it -> lines written), as containers create them.
    files: dict[str, list[str]] = field(default_factory=dict)

    def writable_by(self, user: str) -> bool:
        if user == "0":
            return True
        if user == self.owner:
            return bool(self.mode & 0o200)
        return bool(self.mode & 0o002)

    def readable_by(self, user: str) -> bool:
        if user == "0":
            return True
        if user == self.owner:
            return bool(self.mode & 0o500 == 0o500)
        return bool(self.mode & 0o005 == 0o005)


@dataclass
class Tail:
    """A container running ``tail -F FILE`` with its output sent to an awslogs stream."""

    container: str
    volume: Volume
    path: str  # inside the volume
    log_group: str
    log_stream: str
    graceful: bool  # traps SIGTERM and keeps reading for a while before it exits
    shipped: int = 0  # lines of the file already written to the stream

    def unread(self) -> list[str]:
        return self.volume.files.get(self.path, [])[self.shipped :]


@dataclass(frozen=True)
class EventLog:
    """The file a container writes its attack events to."""

    container: str
    volume: Volume
    path: str  # inside the volume

    def append(self, lines: list[str]) -> None:
        self.volume.files.setdefault(self.path, []).extend(lines)


@dataclass(frozen=True)
class TaskOutcome:
    running: bool
    stopped_reason: str | None = None
    exit_codes: Mapping[str, int] = field(default_factory=dict)
    tails: tuple[Tail, ...] = ()
    event_logs: tuple[EventLog, ...] = ()
    # container -> the containers it depends on (directly or not): it stops before them.
    depends_on: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def tails_flushed_at_stop(self) -> list[Tail]:
        """The tails whose unread lines still reach their stream when the task stops: graceful,
        and stopped after every container writing their file (it depends on them)."""
        writers = {log.container: (log.volume, log.path) for log in self.event_logs}
        return [
            tail
            for tail in self.tails
            if tail.graceful
            and all(
                tail.container in self.depends_on.get(writer, frozenset())
                for writer, (volume, path) in writers.items()
                if volume is tail.volume and path == tail.path
            )
        ]


# May the execution role create the awslogs stream? (group, stream) -> None or the denial.
LogStreamCheck = Callable[[str, str], str | None]


def start_task(task_definition: Mapping[str, Any], task_id: str, create_log_stream: LogStreamCheck) -> TaskOutcome:
    """Start the task's containers in dependency order, as Fargate would; say why it stops."""
    containers = {c["name"]: c for c in task_definition.get("containerDefinitions", [])}
    volumes = {v["name"]: Volume() for v in task_definition.get("volumes", [])}
    exit_codes: dict[str, int] = {}
    tails: list[Tail] = []
    event_logs: list[EventLog] = []
    for name in _start_order(containers):
        container = containers[name]
        denial = _awslogs(container, task_id, create_log_stream)
        if denial:
            return TaskOutcome(
                False,
                "ResourceInitializationError: failed to validate logger args: create stream has been retried "
                f"1 times: failed to create Cloudwatch log stream: {denial}",
                exit_codes,
            )
        for dependency in container.get("dependsOn") or []:
            condition, other = dependency["condition"], dependency["containerName"]
            if condition in ("SUCCESS", "COMPLETE") and other not in exit_codes:
                return TaskOutcome(False, f"container {name}: dependency {other} never exited", exit_codes)
            if condition == "SUCCESS" and exit_codes.get(other) != 0:
                return TaskOutcome(
                    False,
                    f"CannotStartContainerError: container {name} depends on {other} (SUCCESS), "
                    f"which exited {exit_codes[other]}",
                    exit_codes,
                )
        code, reason = _run(container, volumes, task_id, tails, event_logs)
        if code is None:
            continue  # keeps running
        exit_codes[name] = code
        if container.get("essential", True):
            return TaskOutcome(False, f"Essential container in task exited: {name}: {reason}", exit_codes)
    depends_on = {name: frozenset(_dependencies(containers, name)) for name in containers}
    return TaskOutcome(True, None, exit_codes, tuple(tails), tuple(event_logs), depends_on)


def _dependencies(containers: Mapping[str, Mapping[str, Any]], name: str) -> set[str]:
    found: set[str] = set()
    for dependency in containers[name].get("dependsOn") or []:
        other = dependency["containerName"]
        if other not in found:
            found |= {other, *_dependencies(containers, other)}
    return found


def _start_order(containers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise TaskDefinitionRejected(f"container dependencies form a cycle at {name}")
        visiting.add(name)
        for dependency in containers[name].get("dependsOn") or []:
            visit(dependency["containerName"])
        order.append(name)

    for name in containers:
        visit(name)
    return order


def awslogs_stream(container: Mapping[str, Any], task_id: str) -> tuple[str, str] | None:
    """(log group, stream) of the container's awslogs driver, or None."""
    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    options = config.get("options") or {}
    stream = f"{options.get('awslogs-stream-prefix', '')}/{container['name']}/{task_id}".lstrip("/")
    return options["awslogs-group"], stream


def _awslogs(container: Mapping[str, Any], task_id: str, create_log_stream: LogStreamCheck) -> str | None:
    where = awslogs_stream(container, task_id)
    return create_log_stream(*where) if where else None


def _mounts(container: Mapping[str, Any], volumes: Mapping[str, Volume], read_only: bool = False) -> dict[str, Volume]:
    """The container's mounts (writable ones only, unless ``read_only``)."""
    return {
        posixpath.normpath(m["containerPath"]): volumes[m["sourceVolume"]]
        for m in container.get("mountPoints") or []
        if read_only or not m.get("readOnly")
    }


def _volume_at(path: str, mounts: Mapping[str, Volume]) -> tuple[str, Volume] | None:
    path = posixpath.normpath(path)
    for mount_path, volume in mounts.items():
        if path == mount_path or path.startswith(mount_path + "/"):
            return mount_path, volume
    return None


def _run(
    container: Mapping[str, Any],
    volumes: Mapping[str, Volume],
    task_id: str = "",
    tails: list[Tail] | None = None,
    event_logs: list[EventLog] | None = None,
) -> tuple[int | None, str]:
    """Run one container: (exit code, reason), or (None, "") while it keeps running."""
    facts = image_facts(container["image"])
    user = str(container.get("user") or facts.user).split(":")[0]
    mounts = _mounts(container, volumes)
    entry_point, command = container.get("entryPoint"), container.get("command")
    environment = {e["name"]: e["value"] for e in container.get("environment") or []}
    if entry_point:
        argv = [*entry_point, *(command or [])]
        if argv[:2] not in (["/bin/sh", "-c"], ["sh", "-c"]) or len(argv) != 3:
            raise UnknownImage(f"the local cloud runs only `sh -c SCRIPT` entry points, not {argv}")
        if _TAIL.search(argv[2]):
            return _run_tail(container, argv[2], environment, user, volumes, task_id, tails)
        return _run_shell(argv[2], user, mounts)
    for variable, (default, kind) in facts.writes.items():
        path = environment.get(variable, default)
        directory = path if kind == "dir" else posixpath.dirname(path)
        where = _volume_at(directory, mounts)
        if where is None:
            if container.get("readonlyRootFilesystem"):
                return 1, f"OSError: [Errno 30] Read-only file system: '{path}'"
            continue
        if not where[1].writable_by(user):
            return 1, f"PermissionError: [Errno 13] Permission denied: '{path}'"
        if kind == "file":
            inside = posixpath.relpath(posixpath.normpath(path), where[0])
            where[1].files.setdefault(inside, [])
            if variable == facts.event_log and event_logs is not None:
                event_logs.append(EventLog(container["name"], where[1], inside))
    return None, ""


# `tail [-n +1] -F|-f FILE` in a shell script; FILE may be "$VAR" or "${VAR}".
_TAIL = re.compile(r"\btail((?:\s+-n\s+\+?\d+|\s+-[Ff])+)\s+\"?(\$\{?\w+\}?|[^\s\";&]+)\"?")
_GRACE = re.compile(r"\btrap\s+'[^']*\bsleep\s+[1-9]\d*[^']*'\s+(?:\w+\s+)*TERM\b")


def _run_tail(
    container: Mapping[str, Any],
    script: str,
    environment: Mapping[str, str],
    user: str,
    volumes: Mapping[str, Volume],
    task_id: str,
    tails: list[Tail] | None,
) -> tuple[int | None, str]:
    """A log shipper: ``tail -F FILE`` on a volume, its output to the container's awslogs stream."""
    match = _TAIL.search(script)
    assert match is not None
    flags, target = match.group(1).split(), match.group(2)
    variable = re.fullmatch(r"\$\{?(\w+)\}?", target)
    path = environment.get(variable.group(1), "") if variable else target
    where = _volume_at(path, _mounts(container, volumes, read_only=True)) if path else None
    if where is None:
        missing = "-F" not in flags
        return (1, f"tail: can't open '{path}': No such file or directory") if missing else (None, "")
    mount_path, volume = where
    inside = posixpath.relpath(posixpath.normpath(path), mount_path)
    if "-F" not in flags and inside not in volume.files:
        return 1, f"tail: can't open '{path}': No such file or directory"
    stream = awslogs_stream(container, task_id)
    if stream is None:
        raise UnknownImage(f"container {container['name']} tails {path} but has no awslogs driver")
    if volume.readable_by(user) and tails is not None:
        graceful = bool(_GRACE.search(script))
        tails.append(Tail(container["name"], volume, inside, stream[0], stream[1], graceful))
    return None, ""


_CHOWN = re.compile(r"^(\d+)(?::\d+)?$")


def _run_shell(script: str, user: str, mounts: Mapping[str, Volume]) -> tuple[int, str]:
    """The ``sh -c '...'`` an init container runs: chown/chmod on volumes, ``&&``-chained."""
    for step in script.split("&&"):
        words = [w for w in shlex.split(step) if w != "-R"]
        if not words:
            continue
        program, args = words[0], words[1:]
        if program not in ("chown", "chmod") or len(args) < 2:
            raise UnknownImage(f"the local cloud cannot run `{step.strip()}` in an init container")
        for path in args[1:]:
            where = _volume_at(path, mounts)
            if where is None:
                return 1, f"{program}: {path}: Read-only file system"
            if user != "0":
                return 1, f"{program}: {path}: Operation not permitted"
            if program == "chown":
                owner = _CHOWN.match(args[0])
                if owner is None:
                    raise UnknownImage(f"the local cloud reads numeric owners only, not {args[0]}")
                where[1].owner = owner.group(1)
            else:
                where[1].mode = int(args[0], 8)
    return 0, "exited 0"
