"""The research report's inputs from a deployed stack (the user's credentials): the tenures from
the exposure table, Conpot's events from the research bucket.

Tenures: every ``IpHistory`` item holds its IP's current tenure and the finished ones
(``pastTenures``). A finished tenure that no rotation of ours ended (the task crashed, a deploy
replaced it) ends at its ``lastSeen``: the last sweep that saw it running. The current tenure
runs to the report's end; the sweep does not record a task that vanished without a successor on
its IP, so such a tenure counts quiet hours until the IP is seen again. Extra IPs (outside the
stack: no task, no events in our bucket) are left out.

Events: the day folders of [since, until] (plus a day: a record is filed under the day it was
delivered) are listed first, so progress can say "file n of N". Firehose's objects are gzip'd
whatever their name says; each is read whole and checked by its magic bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from ics_honeynet.exposure_history import IpHistory
from ics_honeynet.research.files import day_prefix
from ics_honeynet.research.model import Progress, Tenure

GZIP_MAGIC = b"\x1f\x8b"
_from_dynamo = TypeDeserializer()


def tenures_of(history: IpHistory) -> list[Tenure]:
    """The report's tenures from one IP's history (oldest first); extra IPs give none."""
    records = history.tenures()
    found = []
    for index, record in enumerate(records):
        if record.task_arn is None or record.started is None:
            continue
        finished = index < len(records) - 1
        found.append(
            Tenure.of(
                honeypot_ip=history.ip,
                task_arn=record.task_arn,
                started=record.started,
                rotated=record.rotated_at,
                first_indexed=record.first_indexed,
                first_fingerprinted=record.first_fingerprinted,
                ended=record.last_seen if finished and record.rotated_at is None else None,
                arm=record.arm,
                assigned=record.arm_assigned_at if record.arm is not None else None,
                persona=record.persona_id,
                persona_model=record.persona_model,
            )
        )
    return found


def read_tenures(dynamodb: Any, table: str) -> list[Tenure]:
    """Every tenure in the exposure table (a paginated, consistent scan)."""
    tenures: list[Tenure] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            plain = {k: _from_dynamo.deserialize(v) for k, v in item.items()}
            tenures.extend(tenures_of(IpHistory.from_item(plain)))
    return sorted(tenures, key=lambda t: (t.started, t.honeypot_ip))


def event_keys(s3: Any, bucket: str, *, since: datetime, until: datetime) -> list[str]:
    """The event objects that can hold events of [since, until), in day then name order."""
    keys: list[str] = []
    day, last = since.date(), (until + timedelta(days=1)).date()
    paginator = s3.get_paginator("list_objects_v2")
    while day <= last:
        for page in paginator.paginate(Bucket=bucket, Prefix=day_prefix(day)):
            keys.extend(sorted(o["Key"] for o in page.get("Contents", [])))
        day += timedelta(days=1)
    return keys


def read_event_lines(
    s3: Any,
    bucket: str,
    keys: Iterable[str],
    *,
    progress: Callable[[Progress], None] | None = None,
) -> Iterator[str]:
    """Every line of the event objects ``keys``; ``progress`` after each object."""
    keys = list(keys)
    for done, key in enumerate(keys, start=1):
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        if body.startswith(GZIP_MAGIC):
            try:
                body = gzip.decompress(body)
            except (OSError, EOFError) as error:
                raise EventObjectError(f"s3://{bucket}/{key}: {error}") from error
        yield from body.decode("utf-8", errors="replace").splitlines()
        if progress is not None:
            progress(Progress("files", done, len(keys)))


class EventObjectError(OSError):
    """An event object could not be read whole (names the object)."""
