"""The moto patches that turn embedded moto into a cloud the real stack can run in.

moto 5.2.5 gets us most of the way: CloudFormation, ECS/EC2/S3/SNS/SSM/DynamoDB and a real Step
Functions interpreter. Each gap it leaves is bridged by one documented patch, grouped here per
service, and each patch has a canary test (tests/localcloud/test_moto_patch_canaries.py) so that a
moto upgrade which changes the patched internals fails loudly instead of silently.

- ``awslambda``: invocations run the real handlers (localcloud/lambda_runtime.py); function URLs
  from CloudFormation (served by localcloud/function_urls.py); layer versions and permissions from
  CloudFormation get their ``Ref``.
- ``stepfunctions``: aws-sdk PascalCase, the time scale, CloudFormation's state machines made
  executable, terminal errors and the payload quota as on AWS, retry counters per state entry, every retry
  recorded, ``EnteredTime`` on the local cloud's clock.
- ``iam``, ``ecs``, ``ec2``, ``s3``, ``logs``, ``dynamodb``: what moto's CloudFormation and APIs drop or get wrong.
- ``firehose``, ``logs``, ``glue``: the attack-event pipeline (a log group's subscription, Firehose's
  processing and S3 delivery with their roles, the Glue tables) and the resource types moto's
  CloudFormation lacks for it (``CLOUDFORMATION_MODELS``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from localcloud.lambda_runtime import InProcessLambda
from localcloud.moto_patches import awslambda, dynamodb, ec2, ecs, firehose, glue, iam, logs, s3, stepfunctions
from localcloud.moto_patches.base import check_moto_version, cloudformation_models

# Resource types moto's CloudFormation lacks that the patches create, and their models.
CLOUDFORMATION_MODELS = {
    awslambda.URL_TYPE: awslambda.FunctionUrlResource,
    firehose.CLOUDFORMATION_TYPE: firehose.DeliveryStreamResource,
    logs.SUBSCRIPTION_FILTER_TYPE: logs.SubscriptionFilterResource,
    **glue.MODELS,
}


@contextlib.contextmanager
def installed(runtime: InProcessLambda, time_scale: float = 1.0) -> Iterator[None]:
    """Install every patch for the duration of the block."""
    check_moto_version()
    with contextlib.ExitStack() as stack:
        stack.enter_context(awslambda.invoke_in_process(runtime))
        stack.enter_context(awslambda.cloudformation_layers_and_permissions())
        stack.enter_context(stepfunctions.aws_sdk_normalisation())
        stack.enter_context(stepfunctions.time_scale(time_scale))
        stack.enter_context(stepfunctions.terminal_errors())
        stack.enter_context(stepfunctions.retry_counters_per_state_entry())
        stack.enter_context(stepfunctions.retries_recorded())
        stack.enter_context(stepfunctions.entered_time_on_the_wall_clock())
        stack.enter_context(stepfunctions.cloudformation_state_machines_executable())
        stack.enter_context(iam.role_managed_policies())
        stack.enter_context(ec2.vpc_dns_attributes())
        stack.enter_context(s3.bucket_policy_conditions())
        stack.enter_context(ecs.cloudformation_keeps_every_property())
        stack.enter_context(ecs.pin_task_state())
        stack.enter_context(ecs.list_tasks_by_service())
        stack.enter_context(logs.log_group_arn_and_key())
        stack.enter_context(logs.subscriptions_forward_with_their_role())
        stack.enter_context(firehose.delivery_to_s3())
        stack.enter_context(ec2.flow_logs_to_s3_folders())
        stack.enter_context(s3.bucket_key_setting())
        stack.enter_context(cloudformation_models(CLOUDFORMATION_MODELS))
        stack.enter_context(dynamodb.atomic_item_writes())
        yield
