"""The sweep at scale, through the real template and ASL in the local cloud: the largest honeynet
the template allows and a 1,000-IP sweep stay within Step Functions' limits, and checks run
concurrently in several Lambda containers without ever exceeding the Shodan key's rate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.cloud import LocalCloud
from localcloud.sam import load_template
from localcloud.stack import TEMPLATE

# Step Functions quotas (Step Functions developer guide, "Service quotas"): 25,000 events in an
# execution's history; 256 KB for a state's input or output, a task's parameters or result.
HISTORY_EVENTS_LIMIT = 25_000
PAYLOAD_LIMIT_BYTES = 256 * 1024


def largest_payload(history: list[dict[str, Any]]) -> int:
    """The largest piece of state data the execution carried, in bytes: every state's input and
    output, every task's parameters and result."""
    sizes = [0]
    for event in history:
        for key, details in event.items():
            if not key.endswith("EventDetails") or not isinstance(details, dict):
                continue
            for field in ("input", "output", "parameters"):
                if isinstance(details.get(field), str):
                    sizes.append(len(details[field].encode()))
    return max(sizes)


def quiet_scenario(tmp_path: Path, rate: float | None = None) -> Path:
    path = tmp_path / "scale.yaml"
    shodan: dict[str, Any] = {"api_key": "scale-key"}
    if rate:
        shodan["rate_limit_per_s"] = rate
    path.write_text(yaml.safe_dump({"description": "scale", "shodan": shodan, "honeypots": ["not_indexed"]}))
    return path


def sweep_at_scale(tmp_path: Path, tasks: int, extra_ips: list[str], **kwargs: Any) -> dict[str, Any]:
    with LocalCloud(
        scenario_path=quiet_scenario(tmp_path),
        tasks=tasks,
        parameters={"ExtraHoneypotIps": ",".join(extra_ips), "MapConcurrency": "8"},
        time_scale=0.001,
        **kwargs,
    ) as cloud:
        cloud.wait_for_running(tasks, timeout=120)
        run, report = cloud.sweep(timeout=600)
        record = cloud.evidence(f"sweeps/{run.name}.json") if run.succeeded else {}
    return {"run": run, "report": report, "record": record}


def short_ipv4(count: int) -> list[str]:
    """The shortest IPv4 addresses ("1.2.3.4"): the most that fit in one parameter value."""
    return [f"{a}.{b}.{c}.{d}" for a in range(1, 10) for b in range(10) for c in range(10) for d in range(10)][:count]


@pytest.mark.long_running
def test_the_largest_honeynet_the_template_allows_stays_within_step_functions_limits(tmp_path):
    parameters = load_template(TEMPLATE)["Parameters"]
    tasks = int(parameters["HoneypotCount"]["MaxValue"])
    extra = short_ipv4((int(parameters["ExtraHoneypotIps"]["MaxLength"]) + 1) // len("1.2.3.4,"))
    assert len(",".join(extra)) <= parameters["ExtraHoneypotIps"]["MaxLength"] and (tasks, len(extra)) == (50, 512)
    swept = sweep_at_scale(tmp_path, tasks, extra)
    run, record = swept["run"], swept["record"]
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert len(record["results"]) == tasks + len(extra) == 562
    errors = [r for r in record["results"] if r["verdict"] != "NOT_INDEXED"]
    assert errors == [], errors[:3]
    events, largest = len(run.history), largest_payload(run.history)
    print(f"largest honeynet: {tasks + len(extra)} IPs, {events} history events, largest state {largest} bytes")
    assert events < HISTORY_EVENTS_LIMIT
    assert largest < PAYLOAD_LIMIT_BYTES


@pytest.mark.long_running
def test_a_1000_ip_sweep_stays_within_step_functions_limits(tmp_path):
    swept = sweep_at_scale(tmp_path, 1000, [])
    run, report, record = swept["run"], swept["report"], swept["record"]
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert len(record["results"]) == 1000 and len({r["ip"] for r in record["results"]}) == 1000
    assert len(report.checked) == 1000
    events, largest = len(run.history), largest_payload(run.history)
    iterations = sum(1 for e in run.history if e["type"] == "MapIterationStarted")
    print(f"1,000 IPs: {events} history events, largest state {largest} bytes, {iterations} iterations")
    assert iterations == 1000  # one iteration per IP
    assert events < HISTORY_EVENTS_LIMIT
    assert largest < PAYLOAD_LIMIT_BYTES
    # What the Map keeps per IP is small (its verdict and InternetDB's: ~75 bytes): the Map's whole
    # result is a fraction of the limit, and of its items (~200 bytes per IP).
    map_exit = next(
        e
        for e in run.history
        if e["type"] == "MapStateExited" and e["stateExitedEventDetails"]["name"] == "CheckEachIp"
    )
    entries = json.loads(map_exit["stateExitedEventDetails"]["output"])["sweep"]["ips"]
    assert len(json.dumps(entries).encode()) < 96 * 1024


def test_concurrent_checks_in_several_containers_keep_the_keys_rate(tmp_path):
    # Shodan enforces 1 request/s per key, here in real time: the pace's margin (3%) is then 30 ms
    # of jitter, which a loaded machine running the suite on several workers stays within (at a
    # scaled 250 ms it was 7.5 ms: a thread waking a little late made the next request a 429).
    # Four checks at a time, each in its own Lambda container, share one pace (DynamoDB).
    ips = 16
    with LocalCloud(
        scenario_path=quiet_scenario(tmp_path, rate=1),
        tasks=ips,
        parameters={"MapConcurrency": "4"},
        time_scale=1.0,
    ) as cloud:
        cloud.wait_for_running(ips)
        lookup = cloud.stack.functions["ShodanLookupFunction"]
        # The first sweep starts the containers. Locally they start in this one process, and a
        # cold import can hold the interpreter long enough to delay a request already due, so
        # the next one lands too close (a 429, retried); on AWS containers start side by side.
        first, first_report = cloud.sweep()
        cold = len(cloud.shodan.requests())
        containers = cloud.runtime.containers_started(lookup)
        # Steady state: the same sweep again, on warm containers.
        run, report = cloud.sweep()
        requests = cloud.shodan.requests()[cold:]
        assert cloud.runtime.containers_started(lookup) == containers
    assert first.status == run.status == "SUCCEEDED"
    assert len(first_report.checked) == len(report.checked) == ips
    assert "ERROR" not in {item["verdict"] for item in first_report.checked + report.checked}
    assert containers >= 3, "checks ran concurrently in several containers"
    arrivals = [(r.status, round(r.at - requests[0].at, 3)) for r in requests]
    assert [status for status, _at in arrivals].count(429) == 0, arrivals
    assert len(requests) == ips  # one request per not-indexed IP: none refused, none retried
    assert requests[-1].at - requests[0].at >= (ips - 1) * 1.0  # never faster than the key allows
