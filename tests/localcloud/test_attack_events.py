"""Every Conpot attack event reaches the research-data bucket, verbatim, across rotations; each
defect that would lose events on AWS, put back into a copy of the template, loses them locally too.

The path is the deployed one: the task's ship-events container tails Conpot's JSON event log and
writes it to the event log group with the execution role; the subscription forwards it to
Firehose with its role; Firehose unzips, extracts, delimits, gzips and writes it with its role
under the bucket key, at the prefix the Glue table reads."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import boto3
import pytest

from localcloud.cloud import LocalCloud
from localcloud.constants import REGION
from localcloud.stack import DeployError
from tests.localcloud.test_aws_mutations import TEMPLATE, mutant, template_copy

CONPOT_FIELDS = (
    "timestamp", "sensorid", "id", "src_ip", "src_port", "dst_ip", "dst_port",
    "public_ip", "data_type", "request", "response", "event_type",
)  # fmt: skip


def conpot_records(count: int, public_ip: str | None, tag: str) -> list[str]:
    """Records as conpot/core/loggers/json_log.py writes them (json.dump, one per line)."""
    records = []
    for n in range(count):
        record = {
            "timestamp": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "sensorid": "default",
            "id": str(uuid.uuid4()),
            "src_ip": f"198.51.100.{n % 250 + 1}",
            "src_port": 40000 + n,
            "dst_ip": "10.42.0.17",
            "dst_port": 502,
            "public_ip": public_ip,
            "data_type": "modbus",
            "request": f'{tag}-{n} 0001000000060111000000 \u00e9"quoted"',
            "response": None,
            "event_type": "NEW_CONNECTION" if n % 2 else "CONNECTION_LOST",
        }
        assert tuple(record) == CONPOT_FIELDS
        records.append(json.dumps(record))
    return records


def athena_location(cloud: LocalCloud, table: str, day: datetime) -> str:
    """The S3 prefix Athena reads for ``day``: the table's partition projection template."""
    glue = boto3.client("glue", region_name=REGION)
    found = glue.get_table(DatabaseName=cloud.stack.output("ResearchDatabaseName"), Name=table)["Table"]
    template = found["Parameters"]["storage.location.template"]
    location = template.replace("${year}", f"{day:%Y}").replace("${month}", f"{day:%m}").replace("${day}", f"{day:%d}")
    bucket = cloud.stack.output("ResearchDataBucketName")
    assert location.startswith(f"s3://{bucket}/")
    return location.removeprefix(f"s3://{bucket}/")


def events_athena_reads(cloud: LocalCloud) -> list[str]:
    prefix = athena_location(cloud, "conpot_events", datetime.now(UTC))
    return [line for lines in cloud.stored_events(prefix).values() for line in lines]


def test_events_written_across_a_rotation_are_all_stored_verbatim_where_athena_reads_them():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        exposed = cloud.wait_for_running(3)[2]  # the default scenario's fingerprinted slot
        before = conpot_records(40, exposed.ip, "task-a")
        cloud.receive_attacks(exposed, before)
        run, report = cloud.sweep()
        assert run.status == "SUCCEEDED"
        [rotation] = report.rotated
        assert rotation["from"] == exposed.ip and not exposed.running
        [replacement] = [t for t in cloud.wait_for_running(3) if t.ip == rotation["to"]]
        after = conpot_records(25, replacement.ip, "task-b")
        cloud.receive_attacks(replacement, after)
        cloud.stop_honeypot(replacement, "a later rotation")

        stored = events_athena_reads(cloud)
        failures = cloud.event_delivery_failures()
        denials = cloud.authorizer.denials
        keys = list(cloud.stored_events())
        cw_events = boto3.client("logs", region_name=REGION).filter_log_events(
            logGroupName=cloud.stack.output("HoneypotEventLogGroupName")
        )["events"]
    assert failures == [] and denials == []
    assert len(stored) == len(before) + len(after)
    assert sorted(stored) == sorted(before + after)  # none lost, none duplicated, byte for byte
    assert all(key.endswith(".gz") for key in keys)
    assert sorted(e["message"] for e in cw_events) == sorted(before + after)  # the durable copy too
    assert {tuple(json.loads(line)) for line in stored} == {CONPOT_FIELDS}


def test_the_glue_tables_read_the_prefixes_firehose_and_flow_log_delivery_write():
    with LocalCloud(tasks=1) as cloud:
        [task] = cloud.wait_for_running(1)
        cloud.receive_attacks(task, conpot_records(3, task.ip, "one"))
        cloud.stop_honeypot(task)
        [delivery] = cloud.flow_log_deliveries
        day = datetime.now(UTC)
        flow_location = athena_location(cloud, "vpc_flow_logs", day)
        [key] = cloud.stored_events()
        events_location = athena_location(cloud, "conpot_events", day)
        glue = boto3.client("glue", region_name=REGION)
        columns = glue.get_table(DatabaseName=cloud.stack.output("ResearchDatabaseName"), Name="conpot_events")[
            "Table"
        ]["StorageDescriptor"]["Columns"]
    assert key.startswith(events_location)
    assert delivery.delivered, delivery.denied
    from localcloud.authorizer import flow_log_s3_prefix

    assert flow_location == flow_log_s3_prefix(delivery.destination, REGION, day, hive=True)
    assert tuple(c["Name"] for c in columns) == CONPOT_FIELDS


# -- defects that lose events on AWS --------------------------------------------------------------
ENCRYPT_EVENTS = """                Action: [kms:GenerateDataKey, kms:Decrypt]
                Resource: !GetAtt HoneynetKey.Arn
                Condition:
                  StringEquals:
                    "kms:ViaService": !Sub "s3.${AWS::Region}.amazonaws.com\""""


def _one_task_events(template, count: int = 5) -> tuple[list[str], list[str], list[str]]:
    """(written, what Athena reads, the failures) for one task that received ``count`` events
    and was stopped right after (before its shipper's next read)."""
    with LocalCloud(tasks=1, template_path=template) as cloud:
        [task] = cloud.wait_for_running(1)
        written = conpot_records(count, task.ip, "m")
        with cloud.scheduler.paused():
            cloud.receive_attacks(task, written)
            cloud.scheduler.stop_task(task.task_arn)
        cloud.wait_until_stopped(task)
        return written, events_athena_reads(cloud), cloud.event_delivery_failures()


def test_the_real_template_keeps_the_events_written_just_before_the_task_stopped():
    written, stored, failures = _one_task_events(TEMPLATE)
    assert failures == [] and sorted(stored) == sorted(written)


def test_a_firehose_role_without_the_bucket_keys_grant_loses_every_event(tmp_path):
    template = mutant(tmp_path, ENCRYPT_EVENTS, ENCRYPT_EVENTS.replace("kms:GenerateDataKey, ", ""))
    _written, stored, failures = _one_task_events(template)
    assert stored == []
    assert failures and all("is not authorized to perform: kms:GenerateDataKey" in f for f in failures)


def test_a_grant_on_the_objects_encryption_context_loses_every_event_under_a_bucket_key(tmp_path):
    # Without the bucket key, S3's encryption context would be the object's ARN; with it, the bucket's.
    on_bucket = (
        "# With an S3 Bucket Key the encryption context is the bucket's ARN.\n"
        '                    "kms:EncryptionContext:aws:s3:arn": !GetAtt ResearchDataBucket.Arn'
    )  # the Firehose role's grant (EncryptEvents)
    template = mutant(
        tmp_path,
        on_bucket,
        on_bucket.replace("!GetAtt ResearchDataBucket.Arn", '!Sub "${ResearchDataBucket.Arn}/events/*"'),
    )
    _written, stored, failures = _one_task_events(template)
    assert stored == [] and failures


def test_a_prefix_without_hive_keys_stores_events_athena_never_reads(tmp_path):
    prefix = 'Prefix: "events/conpot/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"'
    template = mutant(tmp_path, prefix, 'Prefix: "events/conpot/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/"')
    with LocalCloud(tasks=1, template_path=template) as cloud:
        [task] = cloud.wait_for_running(1)
        cloud.receive_attacks(task, conpot_records(4, task.ip, "p"))
        cloud.stop_honeypot(task)
        everywhere = [line for lines in cloud.stored_events().values() for line in lines]
        athena = events_athena_reads(cloud)
    assert len(everywhere) == 4 and athena == []


def test_conpot_not_waiting_for_the_shipper_loses_the_last_events_at_a_stop(tmp_path):
    # Without the START dependency ECS orders nothing at shutdown: the shipper may exit first.
    dependency = "            - { ContainerName: ship-events, Condition: START }\n"
    template = mutant(tmp_path, dependency, "")
    written, stored, failures = _one_task_events(template)
    assert stored == []
    assert sorted(f.removeprefix("never shipped: ") for f in failures) == sorted(written)


def test_a_shipper_that_exits_at_once_on_sigterm_loses_the_last_events(tmp_path):
    template = mutant(tmp_path, "trap 'sleep 2; kill $TAIL; wait $TAIL; exit 0' TERM INT;", "")
    written, stored, failures = _one_task_events(template)
    assert stored == [] and len(failures) == len(written)


def test_a_shipper_tailing_another_file_ships_nothing(tmp_path):
    template = mutant(tmp_path, 'tail -n +1 -F "$CONPOT_JSON_LOG"', "tail -n +1 -F /var/log/conpot/conpot_default.json")
    with LocalCloud(tasks=1, template_path=template) as cloud:
        [task] = cloud.wait_for_running(1)
        cloud.receive_attacks(task, conpot_records(3, task.ip, "w"))
        cloud.stop_honeypot(task)
        stored = cloud.stored_events()
    assert stored == {}


def test_a_subscription_role_logs_cannot_assume_fails_the_deploy(tmp_path):
    trust = "            Principal: { Service: logs.amazonaws.com }"
    template = mutant(tmp_path, trust, "            Principal: { Service: firehose.amazonaws.com }")
    message = "Could not deliver test message to specified Firehose stream"
    with pytest.raises(DeployError, match=message), LocalCloud(tasks=0, template_path=template):
        pass


def test_flow_logs_without_the_log_delivery_grant_are_not_delivered(tmp_path):
    text = TEMPLATE.read_text()
    start = text.index("          - Sid: FlowLogDeliveryWrite\n")
    end = text.index("          - Sid: FlowLogDeliveryAclCheck\n")
    with LocalCloud(tasks=0, template_path=template_copy(tmp_path, text[:start] + text[end:])) as cloud:
        [delivery] = cloud.flow_log_deliveries
    assert not delivery.delivered
    assert "delivery.logs.amazonaws.com is not authorized to perform: s3:PutObject" in (delivery.denied or "")
