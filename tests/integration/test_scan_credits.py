"""Experiment mode warns before the scan credits run out: RequestShodanScan reports what the key
has left as a metric (Powertools' embedded metric format), and ShodanScanCreditsLowAlarm emails
the alert topic when it falls below LowScanCredits. The local cloud extracts the metric from the
function's log and evaluates the alarm as CloudWatch does (localcloud/metrics.py)."""

from __future__ import annotations

import boto3

from localcloud.cloud import LocalCloud
from localcloud.constants import REGION
from tests.integration.test_experiment_sweep import alternating_draws, scenario  # noqa: F401 - a fixture
from tests.localcloud.test_aws_mutations import mutant

ALARM = "ShodanScanCreditsLowAlarm"


def _credit_warnings(cloud: LocalCloud) -> list[tuple[str, bool]]:
    return [(d.alarm, d.delivered) for d in cloud.alarm_deliveries if ALARM in d.alarm]


def _sweeps(path, template=None, parameters=None, sweeps: int = 1) -> tuple[list[tuple[str, bool]], list[str]]:
    kwargs = {"template_path": template} if template else {}
    with LocalCloud(scenario_path=path, parameters=parameters or {}, **kwargs) as cloud:
        cloud.wait_for_running(6)
        for _ in range(sweeps):
            run, _report = cloud.sweep()
            assert run.status == "SUCCEEDED", run.cause
        alarms = [
            a["AlarmName"] for a in boto3.client("cloudwatch", region_name=REGION).describe_alarms()["MetricAlarms"]
        ]
        return _credit_warnings(cloud), alarms


def test_few_credits_left_warn_once(tmp_path, alternating_draws):  # noqa: F811
    # Three treatment tenures spend three of four credits: 1 left, under the default 20.
    warnings, _alarms = _sweeps(scenario(tmp_path, tasks=6, credits=4), sweeps=2)
    [(alarm, delivered)] = warnings  # into ALARM once; the second sweep requests nothing new
    assert ALARM in alarm and delivered


def test_plenty_of_credits_left_warn_nobody(tmp_path, alternating_draws):  # noqa: F811
    warnings, alarms = _sweeps(scenario(tmp_path, tasks=6, credits=100))
    assert warnings == [] and any(ALARM in a for a in alarms)


def test_no_warning_alarm_without_experiment_mode_or_with_low_scan_credits_0(tmp_path):
    _warnings, alarms = _sweeps(scenario(tmp_path, tasks=6, credits=4, experiment=False))
    assert not any(ALARM in a for a in alarms)
    _warnings, alarms = _sweeps(scenario(tmp_path, tasks=6, credits=4), parameters={"LowScanCredits": "0"})
    assert not any(ALARM in a for a in alarms)


def test_an_alarm_on_another_dimension_than_powertools_service_never_fires(tmp_path, alternating_draws):  # noqa: F811
    # A metric is its namespace, name and every dimension: Powertools adds service=<POWERTOOLS_SERVICE_NAME>.
    template = mutant(
        tmp_path,
        "        - { Name: service, Value: *metrics-service }",
        "        - { Name: service, Value: ics-honeynet }",
    )
    warnings, alarms = _sweeps(scenario(tmp_path, tasks=6, credits=4), template=template)
    assert warnings == [] and any(ALARM in a for a in alarms)
