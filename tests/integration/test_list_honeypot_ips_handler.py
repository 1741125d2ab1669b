"""list_honeypot_ips against moto ECS/EC2, with tasks started as the honeynet's ECS service would."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from ics_honeynet.honeynet_api import HoneynetApiError
from localcloud import moto_patches
from localcloud.constants import REGION
from localcloud.ecs_scheduler import HoneynetScheduler
from localcloud.functions import load_handler
from localcloud.lambda_runtime import InProcessLambda


@pytest.fixture
def honeynet(monkeypatch):
    """A cluster and service like the template's, and a scheduler that starts its tasks."""
    with mock_aws(), moto_patches.installed(InProcessLambda()):
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.0.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="honeypot", Description="d", VpcId=vpc)["GroupId"]
        ecs = boto3.client("ecs", region_name=REGION)
        ecs.create_cluster(clusterName="honeynet")
        ecs.register_task_definition(
            family="conpot",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "conpot",
                    "image": "dtagdevsec/conpot:24.04.1",
                    "memory": 512,
                    "environment": [{"name": "CONPOT_TEMPLATE", "value": "default"}],
                }
            ],
        )
        ecs.create_service(
            cluster="honeynet",
            serviceName="conpot",
            taskDefinition="conpot",
            desiredCount=0,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "ENABLED"}
            },
        )
        monkeypatch.setenv("CLUSTER_NAME", "honeynet")
        monkeypatch.setenv("HONEYPOT_SERVICES", "default=conpot")
        yield HoneynetScheduler(cluster="honeynet", service="conpot", region=REGION)


@pytest.fixture
def handler():
    return load_handler("list_honeypot_ips")


def test_zero_tasks(honeynet, handler, lambda_context):
    assert handler({}, lambda_context) == {"cluster": "honeynet", "service": "conpot", "ips": [], "skipped": []}


def test_running_tasks_with_public_ips(honeynet, handler, lambda_context):
    started = [honeynet.start_task() for _ in range(3)]
    out = handler({}, lambda_context)
    assert {(i["ip"], i["taskArn"], i["eni"]) for i in out["ips"]} == {(t.ip, t.task_arn, t.eni) for t in started}
    assert all(i["startedAt"].endswith("+00:00") for i in out["ips"])
    assert out["skipped"] == []
    json.dumps(out)


def test_a_task_without_a_public_ip_is_skipped(honeynet, handler, lambda_context):
    with_ip = honeynet.start_task()
    honeynet.assign_public_ips = False
    without = honeynet.start_task()
    out = handler({}, lambda_context)
    assert [i["ip"] for i in out["ips"]] == [with_ip.ip]
    assert out["skipped"] == [
        {"taskArn": without.task_arn, "reason": f"network interface {without.eni} has no public IP yet"}
    ]


def test_stopped_tasks_are_not_listed(honeynet, handler, lambda_context):
    keep, stop = honeynet.start_task(), honeynet.start_task()
    honeynet.stop_task(stop.task_arn)
    assert [i["taskArn"] for i in handler({}, lambda_context)["ips"]] == [keep.task_arn]


def test_a_vanished_interface_does_not_hide_the_others(honeynet, handler, lambda_context):
    keep, gone = honeynet.start_task(), honeynet.start_task()
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.disassociate_address(AssociationId=gone.association_id)
    ec2.delete_network_interface(NetworkInterfaceId=gone.eni)
    out = handler({}, lambda_context)
    assert [i["ip"] for i in out["ips"]] == [keep.ip]
    assert out["skipped"] == [{"taskArn": gone.task_arn, "reason": f"network interface {gone.eni} not found"}]


def test_pages_through_more_than_a_hundred_tasks(honeynet, handler, lambda_context):
    for _ in range(150):
        honeynet.start_task()
    out = handler({}, lambda_context)
    assert len(out["ips"]) == 150
    assert len({i["ip"] for i in out["ips"]}) == 150


def test_a_sweep_gets_one_map_item_per_ip_and_its_targets_go_to_s3(honeynet, handler, lambda_context):
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="evidence")
    started = [honeynet.start_task() for _ in range(3)]
    honeynet.assign_public_ips = False
    starting = honeynet.start_task()
    out = handler({"targetsBucket": "evidence", "targetsKey": "targets/sweep-1.json"}, lambda_context)
    assert out["count"] == 3 and out["targetsKey"] == "targets/sweep-1.json"
    assert [t["ip"] for t in out["targets"]] == [t.ip for t in started]  # the Map's items, in start order
    assert all(set(t) == {"ip", "taskArn", "startedAt"} for t in out["targets"])
    assert [s["taskArn"] for s in out["skipped"]] == [starting.task_arn] and out["skippedCount"] == 1
    body = boto3.client("s3", region_name=REGION).get_object(Bucket="evidence", Key="targets/sweep-1.json")["Body"]
    document = json.loads(body.read())
    assert {t["ip"] for t in document["targets"]} == {t.ip for t in started}
    assert [s["taskArn"] for s in document["skipped"]] == [starting.task_arn]


def test_a_sweep_whose_targets_cannot_be_stored_fails_by_a_name_the_asl_retries(honeynet, handler, lambda_context):
    honeynet.start_task()
    with pytest.raises(HoneynetApiError, match=r"^storing the sweep's targets failed: "):
        handler({"targetsBucket": "no-such-bucket", "targetsKey": "targets/sweep-1.json"}, lambda_context)


def test_a_running_task_without_started_at_is_skipped_until_ecs_stamps_it(honeynet, handler, lambda_context):
    ready, starting = honeynet.start_task(), honeynet.start_task()
    [moto_task] = [t for t in honeynet._backend_tasks() if t.task_arn == starting.task_arn]
    moto_task.started_at = None  # RUNNING, its startedAt not stamped yet
    out = handler({}, lambda_context)
    assert [i["ip"] for i in out["ips"]] == [ready.ip]
    assert out["skipped"] == [{"taskArn": starting.task_arn, "reason": "task has no startedAt yet"}]
