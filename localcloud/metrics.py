"""CloudWatch metrics from the functions' logs, and the alarms on them.

On AWS a function's Powertools ``Metrics`` print one embedded metric format (EMF) document per
invocation to its log; CloudWatch Logs extracts the metrics from it: namespace, each metric's
values, and the document's dimension sets (``service`` by default) ("Specification: Embedded
metric format", CloudWatch user guide). An alarm on such a metric matches only the exact
namespace, metric name and complete dimension set the document declared (a metric is identified
by all of its dimensions: "Dimensions", CloudWatch concepts), and evaluates its statistic over
the datapoints of its period. moto does neither, so the local cloud reads the EMF documents from
the functions' log lines and evaluates the stack's alarms on custom namespaces itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

STATISTICS = {
    "Minimum": min,
    "Maximum": max,
    "Sum": sum,
    "SampleCount": len,
    "Average": lambda values: sum(values) / len(values),
}
COMPARISONS = {
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    metric: str
    dimensions: frozenset[tuple[str, str]]
    value: float
    timestamp_ms: int


def emf_datapoints(lines: Iterable[str]) -> list[Datapoint]:
    """The metrics of every EMF document among ``lines`` (other lines are ignored)."""
    found: list[Datapoint] = []
    for line in lines:
        if '"_aws"' not in line:
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            continue
        meta = document.get("_aws") if isinstance(document, dict) else None
        if not isinstance(meta, dict):
            continue
        for directive in meta.get("CloudWatchMetrics", []):
            for dimension_set in directive.get("Dimensions", [[]]):
                dimensions = frozenset((name, str(document.get(name))) for name in dimension_set)
                for metric in directive.get("Metrics", []):
                    values = document.get(metric["Name"])
                    for value in values if isinstance(values, list) else [values]:
                        if isinstance(value, int | float):
                            found.append(
                                Datapoint(
                                    directive["Namespace"], metric["Name"], dimensions, float(value),
                                    int(meta.get("Timestamp", 0)),
                                )
                            )  # fmt: skip
    return found


def breaching(alarm: Mapping[str, Any], datapoints: Iterable[Datapoint], now_ms: int) -> bool:
    """Whether ``alarm`` (as DescribeAlarms answers it) is in ALARM on ``datapoints``: its statistic
    over the datapoints of its exact metric within its evaluation window, against its threshold.
    No datapoint: not breaching (the stack's alarms treat missing data as notBreaching)."""
    dimensions = frozenset((d["Name"], d["Value"]) for d in alarm.get("Dimensions", []))
    window_ms = int(alarm["Period"]) * int(alarm["EvaluationPeriods"]) * 1000
    values = [
        d.value
        for d in datapoints
        if d.namespace == alarm["Namespace"]
        and d.metric == alarm["MetricName"]
        and d.dimensions == dimensions
        and now_ms - window_ms <= d.timestamp_ms <= now_ms
    ]
    if not values:
        return False
    statistic = STATISTICS[alarm["Statistic"]](values)
    return bool(COMPARISONS[alarm["ComparisonOperator"]](statistic, float(alarm["Threshold"])))
