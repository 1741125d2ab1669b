"""Amazon Data Firehose.

- ``AWS::KinesisFirehose::DeliveryStream in CloudFormation``: moto's CloudFormation has no such
  type. We create the stream through moto's backend with the template's properties, so ``Ref``
  (the name) and ``Fn::GetAtt .Arn`` resolve as on AWS.
- ``Delivery to S3``: moto's ``put_record_batch`` writes the records' bytes as they came, under
  ``PREFIX/YYYY/MM/DD/HH/``: no processors, no compression, no ``!{...}`` expression, no role.
  For an extended S3 destination we deliver as Firehose does ("Data delivery", "Custom prefixes
  for Amazon S3 objects", "Decompression of CloudWatch Logs" in the Firehose developer guide):

  * the processors in order: ``Decompression`` (GZIP), ``CloudWatchLogProcessing`` with
    ``DataMessageExtraction`` (each log event's message becomes a record; control messages
    are dropped), ``AppendDelimiterToRecord`` (a newline after each record). Without
    them the records are concatenated as they came (CloudWatch Logs' gzipped JSON batches);
  * ``CompressionFormat`` GZIP compresses the object and adds ``.gz``;
  * the prefix's ``!{timestamp:...}`` (Java DateTimeFormatter letters, UTC, arrival time: the
    local cloud's wall clock, localcloud/clock.py) and
    ``!{firehose:random-string}`` are evaluated; the object is named
    ``PREFIX + STREAM-VERSION-yyyy-MM-dd-HH-mm-ss-UUID``;
  * Firehose assumes the destination's role (trust policy: ``firehose.amazonaws.com`` with
    ``sts:ExternalId`` = the account) and writes with it: ``s3:PutObject`` and the bucket key's
    KMS grant are authorised by the local cloud's IAM gate.

  A delivery the role may not make is not written: Firehose retries it for up to 24 hours, then
  drops it ("Data delivery failure handling"). It is kept in ``DELIVERY_FAILURES``, which the
  local cloud reports.

  Buffering is not modelled: each ``PutRecordBatch`` is delivered at once as one object.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.moto_patches.base import CreatedResource, CreateFailed, patch_attr

CLOUDFORMATION_TYPE = "AWS::KinesisFirehose::DeliveryStream"


@dataclass(frozen=True)
class DeliveryFailure:
    stream: str
    key: str
    records: int
    error: str


DELIVERY_FAILURES: list[DeliveryFailure] = []


# ---------------------------------------------------------------------------------------------
# CloudFormation
# ---------------------------------------------------------------------------------------------
class DeliveryStreamResource(CreatedResource):
    """An ``AWS::KinesisFirehose::DeliveryStream``: ``Ref`` its name, ``Fn::GetAtt .Arn``."""

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_kw: Any
    ) -> DeliveryStreamResource:
        from moto.firehose.models import firehose_backends

        props = cloudformation_json["Properties"]
        name = props.get("DeliveryStreamName") or resource_name[:64]
        destination = props.get("ExtendedS3DestinationConfiguration")
        if destination is None:
            raise CreateFailed(f"{CLOUDFORMATION_TYPE}: the local cloud models extended S3 destinations only")
        check_prefix(destination.get("Prefix", ""))
        check_prefix(destination.get("ErrorOutputPrefix", ""))
        arn = firehose_backends[account_id][region_name].create_delivery_stream(
            region=region_name,
            delivery_stream_name=name,
            delivery_stream_type=props.get("DeliveryStreamType", "DirectPut"),
            kinesis_stream_source_configuration={},
            delivery_stream_encryption_configuration_input=props.get("DeliveryStreamEncryptionConfigurationInput", {}),
            s3_destination_configuration={},
            extended_s3_destination_configuration=destination,
            redshift_destination_configuration={},
            elasticsearch_destination_configuration={},
            splunk_destination_configuration={},
            http_endpoint_destination_configuration={},
            snowflake_destination_configuration={},
            iceberg_destination_configuration={},
            tags=props.get("Tags", []),
        )
        return cls(name, Arn=arn)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        from moto.firehose.models import firehose_backends

        firehose_backends[account_id][region_name].delete_delivery_stream(resource_name)


# ---------------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------------
_EXPRESSION = re.compile(r"!\{([^:}]+):([^}]*)\}")
# Java DateTimeFormatter letters the prefixes here use (UTC): year, month, day, hour, minute.
_JAVA_DATE = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M"}
_JAVA_TOKEN = re.compile(r"yyyy|MM|dd|HH|mm|'[^']*'|[-/_ :.]")


def _java_format(pattern: str, when: datetime) -> str:
    out, position = [], 0
    for match in _JAVA_TOKEN.finditer(pattern):
        if match.start() != position:
            break
        token = match.group(0)
        out.append(token[1:-1] if token.startswith("'") else when.strftime(_JAVA_DATE.get(token, token)))
        position = match.end()
    if position != len(pattern):
        raise CreateFailed(f"the local cloud cannot evaluate DateTimeFormatter pattern {pattern!r}")
    return "".join(out)


def check_prefix(prefix: str) -> None:
    """An expression in a prefix must be one Firehose knows (it rejects the stream otherwise)."""
    evaluate_prefix(prefix, datetime(2000, 1, 1, tzinfo=UTC), error_output_type="processing-failed")


def evaluate_prefix(prefix: str, arrival: datetime, error_output_type: str | None = None) -> str:
    def evaluate(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return _java_format(value, arrival)
        if namespace == "firehose" and value == "random-string":
            return uuid.uuid4().hex[:11]
        if namespace == "firehose" and value == "error-output-type" and error_output_type:
            return error_output_type
        raise CreateFailed(f"Firehose: expression !{{{namespace}:{value}}} is not valid in this prefix")

    return _EXPRESSION.sub(evaluate, prefix)


def _processors(destination: dict[str, Any]) -> list[dict[str, Any]]:
    config = destination.get("ProcessingConfiguration") or {}
    if str(config.get("Enabled", "false")).lower() != "true":
        return []
    return list(config.get("Processors") or [])


def _parameter(processor: dict[str, Any], name: str) -> str | None:
    for parameter in processor.get("Parameters") or []:
        if parameter["ParameterName"] == name:
            return str(parameter["ParameterValue"])
    return None


def process_records(destination: dict[str, Any], records: list[bytes]) -> bytes:
    """The object body Firehose writes for ``records`` (before S3)."""
    for processor in _processors(destination):
        kind = processor["Type"]
        if kind == "Decompression":
            if _parameter(processor, "CompressionFormat") != "GZIP":
                raise CreateFailed("Firehose Decompression supports CompressionFormat GZIP only")
            records = [gzip.decompress(record) for record in records]
        elif kind == "CloudWatchLogProcessing":
            if _parameter(processor, "DataMessageExtraction") != "true":
                continue
            extracted: list[bytes] = []
            for record in records:
                batch = json.loads(record)  # needs Decompression first, as on AWS
                if batch.get("messageType") == "DATA_MESSAGE":
                    extracted.extend(event["message"].encode() for event in batch["logEvents"])
            records = extracted
        elif kind == "AppendDelimiterToRecord":
            records = [record + b"\n" for record in records]
        else:
            raise NotImplementedError(f"the local cloud does not model the Firehose processor {kind}")
    body = b"".join(records)
    return gzip.compress(body) if destination.get("CompressionFormat") == "GZIP" else body


def object_key(stream: Any, destination: dict[str, Any], arrival: datetime) -> str:
    prefix = evaluate_prefix(destination.get("Prefix", ""), arrival)
    if not destination.get("Prefix"):
        prefix = arrival.strftime("%Y/%m/%d/%H/")
    suffix = ".gz" if destination.get("CompressionFormat") == "GZIP" else ""
    return (
        f"{prefix}{stream.delivery_stream_name}-{stream.version_id}-{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{suffix}"
    )


def _deliver(stream: Any, destination: dict[str, Any], records: list[bytes], region: str) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from localcloud import clock
    from localcloud.authorizer import assume_role_denial
    from localcloud.constants import ACCOUNT_ID
    from localcloud.iam import acting_as, role_principal

    arrival = clock.now()
    key = object_key(stream, destination, arrival)
    body = process_records(destination, records)
    bucket = destination["BucketARN"].split(":::", 1)[1]
    role_arn = destination["RoleARN"]
    denial = assume_role_denial("firehose.amazonaws.com", role_arn, {"sts:ExternalId": ACCOUNT_ID})
    if denial:
        DELIVERY_FAILURES.append(DeliveryFailure(stream.delivery_stream_name, key, len(records), denial))
        return
    try:
        with acting_as(role_principal(role_arn)):
            boto3.client("s3", region_name=region).put_object(Bucket=bucket, Key=key, Body=body)
    except ClientError as error:
        message = f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"
        DELIVERY_FAILURES.append(DeliveryFailure(stream.delivery_stream_name, key, len(records), message))


@contextlib.contextmanager
def delivery_to_s3() -> Iterator[list[DeliveryFailure]]:
    from moto.firehose.exceptions import ResourceNotFoundException
    from moto.firehose.models import FirehoseBackend

    original = FirehoseBackend.put_record_batch

    def put_record_batch(self: Any, delivery_stream_name: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        stream = self.delivery_streams.get(delivery_stream_name)
        if stream is None:
            raise ResourceNotFoundException(
                f"Firehose {delivery_stream_name} under account {self.account_id} not found."
            )
        destination = stream.destinations[0].get("ExtendedS3")
        if destination is None:
            return original(self, delivery_stream_name, records)
        data = [r["Data"] if isinstance(r["Data"], bytes) else base64.b64decode(r["Data"]) for r in records]
        _deliver(stream, destination, data, self.region_name)
        return {
            "FailedPutCount": 0,
            "Encrypted": bool(stream.delivery_stream_encryption_configuration),
            "RequestResponses": [{"RecordId": uuid.uuid4().hex} for _ in records],
        }

    DELIVERY_FAILURES.clear()
    with patch_attr(FirehoseBackend, "put_record_batch", put_record_batch):
        yield DELIVERY_FAILURES
