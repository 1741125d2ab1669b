"""The fault table's promises bite: each defect an audit of the suite once found unnoticed (issue
"Tests that bite": with all four put back, the 200 tests of the day still passed) is put back into
a copy of the state machine, deployed in the local cloud, and met with the fault its promise is
about. The outcome the README promises is lost, and the same check that passes on the real ASL
(tests/integration/test_faults.py) fails on the mutant.
"""

from __future__ import annotations

import pytest

from localcloud.authorizer import aws_error
from localcloud.cloud import LocalCloud
from tests.integration.test_faults import (
    REFUSED,
    STATE_MACHINE,
    UNAVAILABLE_BACKOFF,
    check_a_brief_sns_failure,
    check_a_persistent_fault_on_one_ip,
    check_a_stop_refused_once,
    host_answers,
    indexed_ip,
)
from tests.mutants import asl_changed, state


def without_retry(name: str):
    def change(definition: dict) -> None:
        del state(definition, name)["Retry"]

    return change


def test_without_the_stop_tasks_retry_a_refusal_once_fails_the_rotation(tmp_path):
    with LocalCloud(
        template_path=asl_changed(tmp_path, without_retry("StopHoneypotTask")), rotate_on="fingerprinted"
    ) as cloud:
        cloud.wait_for_running(3)
        stop = cloud.fault("ecs", "StopTask", REFUSED, times=1, by=STATE_MACHINE)
        run, report = cloud.sweep()
        [rotation] = report.rotated
        assert len(stop.calls) == 1 and rotation["status"] == "FAILED"  # the promise lost: no second try
        with pytest.raises(AssertionError):
            check_a_stop_refused_once(cloud, run, report, stop)


def test_without_the_alerts_retry_a_brief_sns_failure_loses_the_alert(tmp_path):
    with LocalCloud(template_path=asl_changed(tmp_path, without_retry("NotifyExposure"))) as cloud:
        cloud.wait_for_running(3)
        publish = cloud.fault("sns", "Publish", aws_error("InternalError", "SNS is unavailable"), times=2)
        run, report = cloud.sweep()
        assert (run.status, run.error) == ("FAILED", "AlertNotSent") and report.emails == []
        with pytest.raises(AssertionError):
            check_a_brief_sns_failure(cloud, run, report, publish)


def test_a_failure_path_that_drops_the_ip_loses_the_sweeps_record(tmp_path):
    def without_the_ip(definition: dict) -> None:
        del state(definition, "RecordCheckError")["Parameters"]["result"]["ip.$"]

    with LocalCloud(template_path=asl_changed(tmp_path, without_the_ip)) as cloud:
        cloud.wait_for_running(3)
        victim = indexed_ip(cloud)
        cloud.shodan.set_fault("503", ip=victim)
        run, report = cloud.sweep()
        # The summary cannot place the entry: the sweep fails, no IP gets its record.
        assert run.status == "FAILED" and "InvalidSweepResults" in (run.cause or "")
        assert f"sweeps/{run.name}.json" not in report.s3_keys
        with pytest.raises(AssertionError):
            check_a_persistent_fault_on_one_ip(
                cloud, run, report, victim, "503", "ShodanUnavailableError", 4, UNAVAILABLE_BACKOFF
            )


def test_retrying_an_answer_that_is_not_a_host_asks_shodan_again_for_nothing(tmp_path):
    def garbage_retried(definition: dict) -> None:
        [unavailable] = [
            r for r in state(definition, "CheckIp")["Retry"] if "ShodanUnavailableError" in r["ErrorEquals"]
        ]
        unavailable["ErrorEquals"].append("ShodanResponseError")

    with LocalCloud(template_path=asl_changed(tmp_path, garbage_retried)) as cloud:
        cloud.wait_for_running(3)
        victim = indexed_ip(cloud)
        cloud.shodan.set_fault("garbage", ip=victim)
        run, report = cloud.sweep()
        assert host_answers(cloud, victim) == [200] * 4  # three requests for the same garbage
        with pytest.raises(AssertionError):
            check_a_persistent_fault_on_one_ip(cloud, run, report, victim, "garbage", "ShodanResponseError", 1, [])
