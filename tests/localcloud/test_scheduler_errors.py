"""The local ECS scheduler keeps going after an error, as ECS would; the tests' check on it
(tests/conftest.py) sees every error recorded during a test."""

from __future__ import annotations

import time

import boto3

from localcloud.constants import REGION
from localcloud.ecs_scheduler import HoneynetScheduler, errors_since, errors_so_far


def test_an_error_of_the_schedulers_loop_is_recorded_and_reported_since_the_mark(runtime):
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="c")
    ecs.register_task_definition(family="f", containerDefinitions=[{"name": "x", "image": "x", "memory": 512}])
    ecs.create_service(cluster="c", serviceName="honeypots", taskDefinition="f", desiredCount=0)
    mark = errors_so_far()
    scheduler = HoneynetScheduler(cluster="c", service="honeypots", region=REGION, interval=0.01).start()
    try:
        assert errors_since(mark) == []  # a healthy pass records nothing
        backend, _cluster = scheduler._backend()
        del backend.services["c:honeypots"]  # gone from under the scheduler
        deadline = time.monotonic() + 5
        while not scheduler.errors and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        scheduler.stop()
    assert scheduler.errors[0] == "RuntimeError: ECS service honeypots not found in c"
    listed = errors_so_far()
    assert listed[scheduler] == 1
    scheduler.errors.append("a second error")
    assert errors_since(listed) == ["a second error"]
    assert scheduler not in errors_so_far()  # stopped and checked: no longer listed
    scheduler.errors.clear()  # the errors were this test's point, not the conftest check's


def test_closing_the_cloud_waits_for_a_task_start_in_progress(monkeypatch):
    # On a loaded machine a replacement task's programs take seconds to start; the scheduler's
    # pass starting it must end before the cloud closes, or it goes on in a removed workspace and
    # against a moto that is gone (or the next test's).
    from localcloud import ecs_scheduler
    from localcloud.cloud import LocalCloud

    original, started, finished = ecs_scheduler.start_task, [], []

    def slow_start(*args, **kwargs):
        started.append(time.monotonic())
        if len(started) > 1:
            time.sleep(6)  # longer than the scheduler once waited for its pass at close (5 s)
        outcome = original(*args, **kwargs)
        finished.append(time.monotonic())
        return outcome

    monkeypatch.setattr(ecs_scheduler, "start_task", slow_start)
    with LocalCloud(tasks=1) as cloud:
        [task] = cloud.wait_for_running(1)
        cloud.stop_honeypot(task)  # the scheduler starts its replacement at once
        deadline = time.monotonic() + 60
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        scheduler = cloud.scheduler
    assert len(started) == len(finished) == 2  # the replacement's start had ended when the cloud closed
    assert not scheduler.looping and scheduler.errors == []
