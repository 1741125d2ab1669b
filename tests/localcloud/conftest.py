"""What the emulator's own tests share: moto with the local cloud's patches and a Lambda runtime."""

from __future__ import annotations

import pytest
from moto import mock_aws

from localcloud import moto_patches
from localcloud.lambda_runtime import InProcessLambda

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


@pytest.fixture
def runtime():
    rt = InProcessLambda()
    with mock_aws(config=MOTO_CONFIG), moto_patches.installed(rt, time_scale=0.001):
        yield rt
