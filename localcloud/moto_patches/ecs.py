"""ECS.

- ``ECS in CloudFormation``: moto's ``AWS::ECS::TaskDefinition`` keeps only family, containers,
  volumes and memory, and ``AWS::ECS::Service`` only cluster, task definition and count. We
  pass every property the ECS API takes (network mode, CPU, roles, runtime platform; launch
  type, network configuration, tags), so the deployed honeynet is the one the template says.
- ``ECS task state``: moto's default "immediate" state progression turns a RUNNING task into
  STOPPED the first time anything looks at it. We pin tasks: they stay as set.
- ``ECS ListTasks(serviceName)``: moto ignores the filter; we filter on the task group
  ``service:<name>``, which is how ECS labels a service's tasks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from localcloud.fargate import check_registration
from localcloud.moto_patches.base import patch_attr


def _camel(node: Any) -> Any:
    """CloudFormation's PascalCase keys to the ECS API's camelCase."""
    if isinstance(node, dict):
        return {key[:1].lower() + key[1:]: _camel(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_camel(item) for item in node]
    return node


def cloudformation_keeps_every_property() -> contextlib.AbstractContextManager[Any]:
    from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends

    def create_task_definition(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        check_registration(
            {"containerDefinitions": _camel(props.get("ContainerDefinitions", [])), "memory": props.get("Memory")}
        )
        return ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family", resource_name),
            container_definitions=_camel(props.get("ContainerDefinitions", [])),
            volumes=_camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            tags=_camel(props.get("Tags")),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            runtime_platform=_camel(props.get("RuntimePlatform")),
            ephemeral_storage=_camel(props.get("EphemeralStorage")),
        )

    def create_service(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = cloudformation_json["Properties"]
        cluster = props["Cluster"].name if isinstance(props["Cluster"], Cluster) else props["Cluster"]
        task_definition = props["TaskDefinition"]
        if isinstance(task_definition, TaskDefinition):
            task_definition = task_definition.arn
        return ecs_backends[account_id][region_name].create_service(
            cluster,
            props.get("ServiceName", resource_name),
            int(props.get("DesiredCount", 0)),
            task_definition_str=task_definition,
            tags=_camel(props.get("Tags")),
            launch_type=props.get("LaunchType", "FARGATE"),
            platform_version=props.get("PlatformVersion"),
            propagate_tags=props.get("PropagateTags", "NONE"),
            network_configuration=_camel(props.get("NetworkConfiguration")),
        )

    stack = contextlib.ExitStack()
    stack.enter_context(
        patch_attr(TaskDefinition, "create_from_cloudformation_json", classmethod(create_task_definition))
    )
    stack.enter_context(patch_attr(Service, "create_from_cloudformation_json", classmethod(create_service)))
    return stack


@contextlib.contextmanager
def pin_task_state() -> Iterator[None]:
    from moto.moto_api import state_manager

    # "manual" with an unreachable tick count: a task's status changes only when set.
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 2**31})
    try:
        yield
    finally:
        state_manager.unset_transition("ecs::task")


def list_tasks_by_service() -> contextlib.AbstractContextManager[Any]:
    from moto.ecs.models import EC2ContainerServiceBackend

    original = EC2ContainerServiceBackend.list_tasks

    def list_tasks(
        self: Any,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,
    ) -> list[Any]:
        tasks = original(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
        if service_name:
            tasks = [t for t in tasks if t.group == f"service:{service_name}"]
        return tasks

    return patch_attr(EC2ContainerServiceBackend, "list_tasks", list_tasks)
