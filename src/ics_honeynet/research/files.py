"""Conpot's events from a local directory tree laid out as the research bucket is:
``events/conpot/year=YYYY/month=MM/day=DD/<name>.json.gz`` (gzip'd JSON lines, one record a
line), plain ``.json``/``.jsonl`` too. The laptop path: sync the bucket's prefix, point the
report at the folder. Only the day folders that can hold events of [since, until) are read (a
record's day folder is the day it was delivered, which is never before its timestamp, so a day
of slack after ``until`` is kept). A damaged gzip file is an error naming the file, not a
silently short report.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

from ics_honeynet.research.model import Progress

EVENTS_PREFIX = "events/conpot/"  # under the research bucket (and the local copy's root)
SUFFIXES = (".json.gz", ".jsonl.gz", ".json", ".jsonl")
_DAY = re.compile(r"year=(\d{4})/month=(\d{2})/day=(\d{2})(?:/|$)")


def day_prefix(day: date) -> str:
    """The key prefix of one day's event files (the pipeline's partitioning)."""
    return f"{EVENTS_PREFIX}year={day:%Y}/month={day:%m}/day={day:%d}/"


def _day_of(relative: str) -> date | None:
    found = _DAY.search(relative)
    if found is None:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def event_files(root: Path | str, *, since: datetime | None = None, until: datetime | None = None) -> list[Path]:
    """The event files under ``root`` (the bucket's copy, or its ``events/conpot`` folder), in
    day then name order; with since/until, only the days that can hold events of that window.
    Files outside a ``year=/month=/day=`` folder are read whatever the window."""
    base = Path(root)
    first = since.date() if since else None
    last = (until + timedelta(days=1)).date() if until else None
    found = []
    for path in base.rglob("*"):
        if not path.is_file() or not path.name.endswith(SUFFIXES):
            continue
        day = _day_of(path.relative_to(base).as_posix())
        if day is not None and ((first and day < first) or (last and day > last)):
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(base).as_posix())


class EventFileError(OSError):
    """An event file could not be read whole (names the file)."""


def read_lines(
    root: Path | str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Iterator[str]:
    """Every line of every event file under ``root``, file by file; ``progress`` after each file."""
    files = event_files(root, since=since, until=until)
    for done, path in enumerate(files, start=1):
        try:
            if path.name.endswith(".gz"):
                with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
                    yield from handle
            else:
                with path.open(encoding="utf-8", errors="replace") as handle:
                    yield from handle
        except (OSError, EOFError) as error:
            raise EventFileError(f"{path}: {error}") from error
        if progress is not None:
            progress(Progress("files", done, len(files)))


def write_lines(root: Path | str, lines: Iterator[str] | list[str], day: date, name: str = "conpot.json.gz") -> Path:
    """Write ``lines`` as one gzip'd JSON-lines file of ``day`` under ``root`` (the layout
    read_lines reads), for the synthetic scenario and tests."""
    path = Path(root) / day_prefix(day) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line.rstrip("\n") + "\n")
    return path
