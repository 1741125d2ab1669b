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


# T-Pot's Conpot: USER conpot (uid 2000); it opens its logs and temp dir at start
# (shared/reference/shodan-and-tpot-facts.md, "T-Pot's Conpot").
_CONPOT = ImageFacts(
    user="2000",
    writes={
        "CONPOT_TMP": ("/tmp/conpot", "dir"),  # noqa: S108 - a path inside the emulated container
        "CONPOT_LOG": ("/var/log/conpot/conpot.log", "file"),
        "CONPOT_JSON_LOG": ("/var/log/conpot/conpot.json", "file"),
    },
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

    def writable_by(self, user: str) -> bool:
        if user == "0":
            return True
        if user == self.owner:
            return bool(self.mode & 0o200)
        return bool(self.mode & 0o002)


@dataclass(frozen=True)
class TaskOutcome:
    running: bool
    stopped_reason: str | None = None
    exit_codes: Mapping[str, int] = field(default_factory=dict)


# May the execution role create the awslogs stream? (group, stream) -> None or the denial.
LogStreamCheck = Callable[[str, str], str | None]


def start_task(task_definition: Mapping[str, Any], task_id: str, create_log_stream: LogStreamCheck) -> TaskOutcome:
    """Start the task's containers in dependency order, as Fargate would; say why it stops."""
    containers = {c["name"]: c for c in task_definition.get("containerDefinitions", [])}
    volumes = {v["name"]: Volume() for v in task_definition.get("volumes", [])}
    exit_codes: dict[str, int] = {}
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
        code, reason = _run(container, volumes)
        if code is None:
            continue  # keeps running
        exit_codes[name] = code
        if container.get("essential", True):
            return TaskOutcome(False, f"Essential container in task exited: {name}: {reason}", exit_codes)
    return TaskOutcome(True, None, exit_codes)


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


def _awslogs(container: Mapping[str, Any], task_id: str, create_log_stream: LogStreamCheck) -> str | None:
    config = container.get("logConfiguration") or {}
    if config.get("logDriver") != "awslogs":
        return None
    options = config.get("options") or {}
    stream = f"{options.get('awslogs-stream-prefix', '')}/{container['name']}/{task_id}".lstrip("/")
    return create_log_stream(options["awslogs-group"], stream)


def _mounts(container: Mapping[str, Any], volumes: Mapping[str, Volume]) -> dict[str, Volume]:
    return {
        posixpath.normpath(m["containerPath"]): volumes[m["sourceVolume"]]
        for m in container.get("mountPoints") or []
        if not m.get("readOnly")
    }


def _volume_at(path: str, mounts: Mapping[str, Volume]) -> tuple[str, Volume] | None:
    path = posixpath.normpath(path)
    for mount_path, volume in mounts.items():
        if path == mount_path or path.startswith(mount_path + "/"):
            return mount_path, volume
    return None


def _run(container: Mapping[str, Any], volumes: Mapping[str, Volume]) -> tuple[int | None, str]:
    """Run one container: (exit code, reason), or (None, "") while it keeps running."""
    facts = image_facts(container["image"])
    user = str(container.get("user") or facts.user).split(":")[0]
    mounts = _mounts(container, volumes)
    entry_point, command = container.get("entryPoint"), container.get("command")
    if entry_point:
        return _run_shell(entry_point, command or [], user, mounts)
    environment = {e["name"]: e["value"] for e in container.get("environment") or []}
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
    return None, ""


_CHOWN = re.compile(r"^(\d+)(?::\d+)?$")


def _run_shell(entry_point: list[str], command: list[str], user: str, mounts: Mapping[str, Volume]) -> tuple[int, str]:
    """The ``sh -c '...'`` an init container runs: chown/chmod on volumes, ``&&``-chained."""
    argv = [*entry_point, *command]
    if argv[:2] not in (["/bin/sh", "-c"], ["sh", "-c"]) or len(argv) != 3:
        raise UnknownImage(f"the local cloud runs only `sh -c SCRIPT` entry points, not {argv}")
    for step in argv[2].split("&&"):
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
