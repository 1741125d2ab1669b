"""Shared fixtures: a Lambda context; every test fails if a local cloud's ECS scheduler erred."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Never let a test reach a real AWS account, whatever the developer's shell holds.
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_var, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "IcsHoneynet")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ics-honeynet-tests")

# Property-based tests check behaviour, not speed (benchmarks measure speed: make bench). Their
# examples' time varies with the machine's load (make test runs several workers on 2 cores), so
# no per-example deadline and no health check on slow data generation.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: the long-running tests, then the groups of tests sharing a module fixture
    (one worker runs each group), then the rest, each in collection order. On several workers
    (make test: --dist loadgroup --no-loadscope-reorder, which hands tests out in this order)
    the long ones then run beside the others instead of after them."""

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("long_running"):
            return 0
        return 1 if item.get_closest_marker("xdist_group") else 2

    items.sort(key=rank)


@dataclass
class FakeLambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def _no_local_scheduler_error():
    """The local cloud's ECS scheduler keeps going after an error (as ECS would), so a test could
    pass on a honeynet the scheduler stopped maintaining: an error during the test fails it."""
    from localcloud.ecs_scheduler import errors_since, errors_so_far

    mark = errors_so_far()
    yield
    errors = errors_since(mark)
    assert not errors, f"the local cloud's ECS scheduler erred during the test: {errors}"


@pytest.fixture
def unused_port():
    """A local TCP port that refuses connections: bound for the test, never listening (no
    assumption about which ports of the machine are closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]
