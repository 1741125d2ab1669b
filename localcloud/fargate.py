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

- A container's program runs with the image's file system and Python (``python3 -c PROGRAM``
  steps really run, see ``_run_python``): every path it is given in its environment is translated
  to the task's volumes (a local directory each) or, off the volumes, to the container's root file
  system, which with ``readonlyRootFilesystem`` must stay untouched; a volume the container's user
  may not write, or a read-only mount, must stay untouched too (else: "Read-only file system",
  "Permission denied"; paths written literally in its code are not translated: our programs take
  theirs from the environment). Its syntax is held to the image's Python version. Its peak memory (RSS)
  must fit in the container's hard limit, or the kernel kills it ("OutOfMemoryError: Container
  killed due to memory usage", exit 137; ECS developer guide, "Container memory"). It reaches the
  task metadata endpoint (``ECS_CONTAINER_METADATA_URI_V4``, localcloud/task_metadata.py). What it
  prints goes to the container's awslogs stream.
- Conpot's start with its template (localcloud/conpot_image.py): ``--template`` must name a
  template directory or a stock template, whose files pass Conpot's XSD validation, or Conpot
  exits 1; what it then serves is kept (``TaskOutcome.served``).

What the local cloud knows about images (their user, what they write at start) is in
``IMAGES``, the one place for it. An image it does not know is an error, never a guess.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud import conpot_image
from localcloud.task_metadata import TaskMetadataEndpoint


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
    # The variable its default command passes as Conpot's --template (localcloud/conpot_image.py).
    template_variable: str | None = None
    # Its python3: the oldest version the tag has shipped, and its import path (the local stand-in).
    python: tuple[int, int] | None = None
    site_packages: Path | None = None


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
    template_variable="CONPOT_TEMPLATE",
    python=conpot_image.PYTHON,
    site_packages=conpot_image.SITE_PACKAGES,
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
    # Where its content really is, for programs that run (a task started with a TaskHost).
    path: Path | None = None

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
class TaskHost:
    """Where a task's programs really run: a local directory for its volumes and root file
    systems, and the task metadata endpoint its containers reach."""

    workspace: Path
    task_arn: str
    family: str
    revision: int
    metadata: TaskMetadataEndpoint


@dataclass(frozen=True)
class TaskOutcome:
    running: bool
    stopped_reason: str | None = None
    exit_codes: Mapping[str, int] = field(default_factory=dict)
    tails: tuple[Tail, ...] = ()
    event_logs: tuple[EventLog, ...] = ()
    # container -> the containers it depends on (directly or not): it stops before them.
    depends_on: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # What each container printed (its awslogs stream), for containers whose programs ran.
    console: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # What Conpot serves, once started.
    served: conpot_image.ServedTemplate | None = None

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


def start_task(
    task_definition: Mapping[str, Any], task_id: str, create_log_stream: LogStreamCheck, host: TaskHost | None = None
) -> TaskOutcome:
    """Start the task's containers in dependency order, as Fargate would; say why it stops."""
    containers = {c["name"]: c for c in task_definition.get("containerDefinitions", [])}
    volumes = {v["name"]: Volume() for v in task_definition.get("volumes", [])}
    if host is not None:
        for volume_name, volume in volumes.items():
            volume.path = host.workspace / "volumes" / volume_name
            volume.path.mkdir(parents=True)
    run = _Run(host, volumes, task_id)
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
        code, reason = _run(container, run)
        if code is None:
            continue  # keeps running
        exit_codes[name] = code
        if container.get("essential", True):
            return run.outcome(False, f"Essential container in task exited: {name}: {reason}", exit_codes)
    depends_on = {name: frozenset(_dependencies(containers, name)) for name in containers}
    return run.outcome(True, None, exit_codes, depends_on)


@dataclass
class _Run:
    """One task's start: where it runs and what its containers left behind."""

    host: TaskHost | None
    volumes: Mapping[str, Volume]
    task_id: str
    tails: list[Tail] = field(default_factory=list)
    event_logs: list[EventLog] = field(default_factory=list)
    console: dict[str, tuple[str, ...]] = field(default_factory=dict)
    served: conpot_image.ServedTemplate | None = None

    def outcome(
        self,
        running: bool,
        reason: str | None,
        exit_codes: Mapping[str, int],
        depends_on: Mapping[str, frozenset[str]] | None = None,
    ) -> TaskOutcome:
        return TaskOutcome(
            running,
            reason,
            exit_codes,
            tuple(self.tails),
            tuple(self.event_logs),
            depends_on or {},
            dict(self.console),
            self.served,
        )


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


def _host_path(path: str, mounts: Mapping[str, Volume]) -> Path | None:
    """Where ``path`` (inside the container) is on this machine, if on a volume with a directory."""
    where = _volume_at(path, mounts)
    if where is None or where[1].path is None:
        return None
    inside = posixpath.relpath(posixpath.normpath(path), where[0])
    return where[1].path if inside == "." else where[1].path / inside


def _run(container: Mapping[str, Any], run: _Run) -> tuple[int | None, str]:
    """Run one container: (exit code, reason), or (None, "") while it keeps running."""
    facts = image_facts(container["image"])
    user = str(container.get("user") or facts.user).split(":")[0]
    mounts = _mounts(container, run.volumes)
    entry_point, command = container.get("entryPoint"), container.get("command")
    environment = {e["name"]: e["value"] for e in container.get("environment") or []}
    if entry_point:
        argv = [*entry_point, *(command or [])]
        if argv[:2] not in (["/bin/sh", "-c"], ["sh", "-c"]) or len(argv) != 3:
            raise UnknownImage(f"the local cloud runs only `sh -c SCRIPT` entry points, not {argv}")
        if _TAIL.search(argv[2]):
            return _run_tail(container, argv[2], environment, user, run)
        return _run_shell(container, argv[2], environment, user, run)
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
            if variable == facts.event_log:
                run.event_logs.append(EventLog(container["name"], where[1], inside))
    if facts.template_variable:
        return _start_conpot(container, environment.get(facts.template_variable, ""), user, run)
    return None, ""


def _start_conpot(container: Mapping[str, Any], argument: str, user: str, run: _Run) -> tuple[int | None, str]:
    """Conpot resolves and validates its template (localcloud/conpot_image.py); None: it serves."""
    mounts = _mounts(container, run.volumes, read_only=True)
    where = _volume_at(argument, mounts) if argument.startswith("/") else None
    readable = where is None or where[1].readable_by(user)
    try:
        directory = conpot_image.resolve_template(argument, _host_path(argument, mounts) if readable else None)
        conpot_image.validate(directory)
    except conpot_image.ConpotExited as exited:
        return 1, f"conpot: {exited}"
    working_directory = container.get("workingDirectory")
    run.served = conpot_image.ServedTemplate(
        argument, directory, _host_path(working_directory, mounts) if working_directory else None
    )
    return None, ""


# `tail [-n +1] -F|-f FILE` in a shell script; FILE may be "$VAR" or "${VAR}".
_TAIL = re.compile(r"\btail((?:\s+-n\s+\+?\d+|\s+-[Ff])+)\s+\"?(\$\{?\w+\}?|[^\s\";&]+)\"?")
_GRACE = re.compile(r"\btrap\s+'[^']*\bsleep\s+[1-9]\d*[^']*'\s+(?:\w+\s+)*TERM\b")


def _run_tail(
    container: Mapping[str, Any], script: str, environment: Mapping[str, str], user: str, run: _Run
) -> tuple[int | None, str]:
    """A log shipper: ``tail -F FILE`` on a volume, its output to the container's awslogs stream."""
    match = _TAIL.search(script)
    assert match is not None
    flags, target = match.group(1).split(), match.group(2)
    variable = re.fullmatch(r"\$\{?(\w+)\}?", target)
    path = environment.get(variable.group(1), "") if variable else target
    where = _volume_at(path, _mounts(container, run.volumes, read_only=True)) if path else None
    if where is None:
        missing = "-F" not in flags
        return (1, f"tail: can't open '{path}': No such file or directory") if missing else (None, "")
    mount_path, volume = where
    inside = posixpath.relpath(posixpath.normpath(path), mount_path)
    if "-F" not in flags and inside not in volume.files:
        return 1, f"tail: can't open '{path}': No such file or directory"
    stream = awslogs_stream(container, run.task_id)
    if stream is None:
        raise UnknownImage(f"container {container['name']} tails {path} but has no awslogs driver")
    if volume.readable_by(user):
        graceful = bool(_GRACE.search(script))
        run.tails.append(Tail(container["name"], volume, inside, stream[0], stream[1], graceful))
    return None, ""


_CHOWN = re.compile(r"^(\d+)(?::\d+)?$")
_VARIABLE = re.compile(r"^\$\{?(\w+)\}?$")


def _run_shell(
    container: Mapping[str, Any], script: str, environment: Mapping[str, str], user: str, run: _Run
) -> tuple[int, str]:
    """The ``sh -c '...'`` an init container runs, ``&&``-chained: chown/chmod on volumes, and
    ``python3 -c PROGRAM`` (PROGRAM literal or ``"$VARIABLE"``), which really runs."""
    mounts = _mounts(container, run.volumes)
    for step in script.split("&&"):
        words = [w for w in shlex.split(step) if w != "-R"]
        if not words:
            continue
        program, args = words[0], words[1:]
        if program == "python3" and len(args) == 2 and args[0] == "-c":
            variable = _VARIABLE.match(args[1])
            # sh expands an unset variable to nothing: `python3 -c ""` runs nothing and exits 0.
            code = environment.get(variable.group(1), "") if variable else args[1]
            exit_code, reason = _run_python(container, code, environment, user, run)
            if exit_code != 0:
                return exit_code, reason
            continue
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


# Runs a program as the image's python3 would: its syntax held to the image's version (every
# source compiled, the program's and what it compiles itself), standard library and the image's
# site-packages only (python -S, PYTHONPATH). At exit it writes its peak RSS (VmHWM: this process's
# own; ru_maxrss would count the parent's memory the child was forked from) to the file named.
_IMAGE_PYTHON = """\
import ast, atexit, builtins, sys
_compile = builtins.compile
def compile(source, filename, mode, *args, **kwargs):
    if isinstance(source, (str, bytes)):
        _compile(source, filename, mode, ast.PyCF_ONLY_AST, _feature_version={minor})
    return _compile(source, filename, mode, *args, **kwargs)
builtins.compile = compile
program, peak = sys.argv.pop(1), sys.argv.pop(1)
def report_peak():
    with open("/proc/self/status") as status, open(peak, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(report_peak)
exec(compile(program, "<string>", "exec"), {{"__name__": "__main__", "__builtins__": builtins}})
"""
PROGRAM_TIMEOUT_S = 60


def _run_python(
    container: Mapping[str, Any], code: str, environment: Mapping[str, str], user: str, run: _Run
) -> tuple[int, str]:
    """``python3 -c CODE`` in the container (the module docstring's rules)."""
    facts = image_facts(container["image"])
    if run.host is None or facts.python is None:
        raise UnknownImage(
            f"container {container['name']} runs python3: the task needs a TaskHost and an image with it"
        )
    name = container["name"]
    rootfs = Path(tempfile.mkdtemp(prefix=f"rootfs-{name}-", dir=run.host.workspace))
    mounts = _mounts(container, run.volumes, read_only=True)

    def host_path(path: str) -> Path:
        on_volume = _host_path(path, mounts)
        if on_volume is not None:
            return on_volume
        # Off the volumes: in the image's file system, whose directories we take to exist.
        in_rootfs = rootfs / posixpath.normpath(path).lstrip("/")
        in_rootfs.parent.mkdir(parents=True, exist_ok=True)
        return in_rootfs

    env = {k: str(host_path(v)) if v.startswith("/") else v for k, v in environment.items()}
    env["ECS_CONTAINER_METADATA_URI_V4"] = run.host.metadata.uri_for(
        run.host.task_arn, run.host.family, run.host.revision, name
    )
    env["PYTHONPATH"] = str(facts.site_packages or "")
    working_directory = host_path(container.get("workingDirectory") or "/")
    working_directory.mkdir(parents=True, exist_ok=True)
    areas = {"/": rootfs, **{mount: volume.path for mount, volume in mounts.items() if volume.path is not None}}
    before = {area: _listing(path) for area, path in areas.items()}
    wrapper = _IMAGE_PYTHON.format(minor=facts.python[1])
    peak_file = run.host.workspace / f"peak-{name}"
    try:
        completed = subprocess.run(  # noqa: S603 -- our own interpreter, the task definition's program
            [sys.executable, "-S", "-c", wrapper, code, str(peak_file)],
            cwd=working_directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PROGRAM_TIMEOUT_S,
            check=False,
        )
        output, returncode = completed.stdout, completed.returncode
    except subprocess.TimeoutExpired as expired:
        output, returncode = str(expired.output or ""), 124
    run.console[name] = (*run.console.get(name, ()), *output.splitlines())
    peak_mib = int(peak_file.read_text() or 0) / 1024 if peak_file.is_file() else 0.0
    failure = _program_failure(container, run, user, mounts, areas, before, peak_mib)
    if failure is not None:
        # What the program would have printed as it died (the kernel's kill prints nothing).
        if failure[0] != 137:
            run.console[name] = (*run.console[name], failure[1])
        return failure
    if returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else f"exited {returncode}"
        return returncode, last
    return 0, "exited 0"


def _program_failure(
    container: Mapping[str, Any],
    run: _Run,
    user: str,
    mounts: Mapping[str, Volume],
    areas: Mapping[str, Path],
    before: Mapping[str, set[str]],
    peak_mib: float,
) -> tuple[int, str] | None:
    """Where the container would have stopped the program: its memory, the writes it may not make."""
    limit = container.get("memory")
    if limit and peak_mib > int(limit):
        return 137, f"OutOfMemoryError: Container killed due to memory usage ({peak_mib:.0f} MiB > {limit} MiB)"
    writable = _mounts(container, run.volumes)
    for area, path in areas.items():
        changed = sorted(_listing(path) ^ before[area])
        if not changed:
            continue
        touched = posixpath.join(area, changed[0])
        if area == "/" and container.get("readonlyRootFilesystem"):
            return 1, f"OSError: [Errno 30] Read-only file system: '{touched}'"
        if area != "/" and area not in writable:
            return 1, f"OSError: [Errno 30] Read-only file system: '{touched}'"
        if area != "/" and not mounts[area].writable_by(user):
            return 1, f"PermissionError: [Errno 13] Permission denied: '{touched}'"
    return None


def _listing(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")} if directory.is_dir() else set()
