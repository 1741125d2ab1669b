"""T-Pot's industrial profile: five Conpot templates, one ECS service each, each task opening exactly
its template's ports and serving its template's persona; the sweep, the rotation and the history
cover every service."""

from __future__ import annotations

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from ics_honeynet.exposure_history import IpHistory
from ics_honeynet.persona import persona_label
from localcloud.cloud import LocalCloud
from localcloud.stack import DeployError
from tests.unit.test_template import INDUSTRIAL, TEMPLATE_PORTS

REGION = "us-east-1"


def opened_ports(ec2, eni: str) -> set[tuple[str, int]]:
    """What the task's network interface lets in: its security groups' ingress rules."""
    [interface] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    groups = ec2.describe_security_groups(GroupIds=[g["GroupId"] for g in interface["Groups"]])["SecurityGroups"]
    return {(rule["IpProtocol"], rule["FromPort"]) for group in groups for rule in group["IpPermissions"]}


def test_the_industrial_profile_runs_five_services_each_with_exactly_its_ports_and_one_sweep_covers_them():
    with LocalCloud(tasks=1, rotate_on="fingerprinted", parameters={"HoneypotTemplates": INDUSTRIAL}) as cloud:
        services = cloud.services
        assert sorted(services.values()) == sorted(TEMPLATE_PORTS)
        tasks = cloud.wait_for_running(5)
        assert cloud.desired_count() == 5
        ec2, ecs = boto3.client("ec2", region_name=REGION), boto3.client("ecs", region_name=REGION)
        cluster = cloud.stack.output("HoneypotClusterName")
        by_template = {}
        for task in tasks:
            template = services[task.service]
            by_template[template] = task
            assert opened_ports(ec2, task.eni) == TEMPLATE_PORTS[template], template
            [described] = ecs.describe_tasks(cluster=cluster, tasks=[task.task_arn])["tasks"]
            definition = ecs.describe_task_definition(taskDefinition=described["taskDefinitionArn"])["taskDefinition"]
            conpot = next(c for c in definition["containerDefinitions"] if c["name"] == "conpot")
            assert {(m["protocol"], m["containerPort"]) for m in conpot["portMappings"]} == TEMPLATE_PORTS[template]
            # Each serves its own template's persona, free of the known defaults.
            label = persona_label(task.task_arn, template)
            assert f"persona {label.id} ({label.model}) for task" in "\n".join(
                task.containers.console["prepare-volumes"]
            )
            assert f"template {template} rendered" in "\n".join(task.containers.console["prepare-volumes"])
            assert cloud.audit_served_template(task).findings == (), template
        assert set(by_template) == set(TEMPLATE_PORTS)

        run, report = cloud.sweep()
        assert run.succeeded
        assert {r["ip"] for r in report.checked} == {t.ip for t in tasks}  # every service's honeypot
        # The default scenario's third honeypot is fingerprinted: it moved to a new IP of its own service.
        [rotation] = report.rotated
        assert rotation["status"] == "ROTATED"
        moved = next(t for t in tasks if t.ip == rotation["from"])
        [replacement] = [t for t in cloud.scheduler.running_tasks() if t.ip == rotation["to"]]
        assert replacement.service == moved.service == rotation["service"]  # ECS's group, through the ASL

        items = boto3.client("dynamodb", region_name=REGION).scan(TableName=cloud.stack.output("ExposureTableName"))
        deserialize = TypeDeserializer().deserialize
        histories = [IpHistory.from_item({k: deserialize(v) for k, v in i.items()}) for i in items["Items"]]
        templates = {h.task_arn: h.template for h in histories}
        owners = {t.task_arn: services[t.service] for t in cloud.scheduler.history}
        assert templates == {arn: owners[arn] for arn in templates}  # each tenure, its service's template
        assert len(templates) == 6  # five honeypots and the replacement


def test_a_template_name_conpot_has_not_is_refused_before_anything_is_created():
    refused = pytest.raises(DeployError, match="Parameter 'HoneypotTemplates' must be one of AllowedValues")
    with refused, LocalCloud(tasks=1, parameters={"HoneypotTemplates": "default,IEC-104"}):
        pass
