"""The Shodan key stays in SSM: a sweep leaves it in no log, history event, output, object or email."""

from __future__ import annotations

import json

import boto3

from localcloud.cloud import LocalCloud


def test_a_sweep_never_exposes_the_shodan_key():
    with LocalCloud(rotate_on="fingerprinted") as cloud:
        key = cloud.scenario.shodan.api_key
        assert len(key) > 8
        cloud.wait_for_running(3)
        quiet = next(t.ip for t in cloud.scheduler.running_tasks() if t.slot == 0)
        cloud.shodan.set_fault("500", ip=quiet)  # an error path too
        run, report = cloud.sweep()
        s3 = boto3.client("s3")
        bucket = cloud.stack.output("EvidenceBucketName")
        objects = [s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode() for k in cloud.evidence_keys()]
        functions = [
            json.dumps(boto3.client("lambda").get_function_configuration(FunctionName=name), default=str)
            for name in cloud.stack.functions.values()
        ]
        logs = cloud.function_log_lines()
        definition = json.dumps(cloud.stack.definition)
        pace = boto3.client("dynamodb").scan(TableName=cloud.stack.physical_ids["ShodanPaceTable"])["Items"]
    assert (
        run.status == "SUCCEEDED" and report.rotated and len(objects) == 5 and logs and pace
    )  # 2 evidence, 1 error, targets, record

    places = {
        "execution history": json.dumps(run.history, default=str),
        "execution output": json.dumps(run.output),
        "S3 objects": "\n".join(objects),
        "emails": json.dumps(report.emails),
        "function logs": "\n".join(logs),
        "function configuration": "\n".join(functions),
        "state machine definition": definition,
        "shodan request records": json.dumps([r.path for r in cloud.shodan.requests()]),
        "Shodan pace table": json.dumps(pace),
    }
    leaks = [place for place, text in places.items() if key in text]
    assert leaks == []
    # What is there instead: the parameter's name.
    assert "/ics-honeynet/shodan-api-key" in places["function configuration"]
