"""The README's fault table says what the code does, and cannot drift from it.

Every retry claim in README.md, written `where`/`error` N tries, A s → B s, is read and compared
with the source of the retry: the state machine's Retry blocks (statemachine/sweep.asl.yaml, as
deployed: sweep.asl.json), retries.RetryPolicy (the honeyscore, inside the lookup) and
history_store (the exposure table's unprocessed batches). Every retrier of the sweep must be
claimed, and every test the fault table names must exist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ics_honeynet import history_store
from ics_honeynet.retries import RetryPolicy

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
ASL = json.loads((ROOT / "statemachine" / "sweep.asl.json").read_text())
CLAIM = re.compile(
    r"`(?P<where>[A-Za-z ]+)`/`(?P<error>[A-Za-z.]+)` (?P<tries>\d+) tries, (?P<first>[\d.]+) s → (?P<last>[\d.]+) s"
)
LAMBDA_ERRORS = re.compile(r"Lambda\.|Sandbox\.")
# Experiment mode's scan requests retry only what cannot have reached Shodan: README "Experiment mode".
NOT_IN_THE_FAULT_TABLE = {"ClaimScan", "RequestScan", "RecordScan", "RecordScanError"}


def claims() -> list[dict[str, str]]:
    text = " ".join(README.split())  # a claim may be wrapped over two lines
    return [m.groupdict() for m in CLAIM.finditer(text)]


def task_states(states: dict) -> dict[str, dict]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        if "ItemProcessor" in state:
            found |= task_states(state["ItemProcessor"]["States"])
    return found


TASKS = task_states(ASL["States"])


def asl_retry(where: str, error: str) -> tuple[int, float, float]:
    """(tries, first wait's ceiling, longest wait's ceiling) of ``where``'s retrier for ``error``."""
    [retrier] = [r for r in TASKS[where]["Retry"] if error in r["ErrorEquals"]]
    assert retrier.get("JitterStrategy") == "FULL", f"{where}/{error}: the README promises full jitter"
    retries = retrier.get("MaxAttempts", 3)
    first = retrier.get("IntervalSeconds", 1)
    ceilings = [first * retrier.get("BackoffRate", 2.0) ** n for n in range(retries)]
    return retries + 1, ceilings[0], min(max(ceilings), retrier.get("MaxDelaySeconds", float("inf")))


def honeyscore_retry(error: str) -> tuple[int, float, float]:
    policy = RetryPolicy()
    if error == "ShodanRateLimitError":
        tries = policy.rate_limit_tries
        ceilings = [policy.delay(n, rng=lambda: 1.0, base=policy.rate_limit_base_s) for n in range(1, tries)]
    else:
        assert error == "ShodanUnavailableError", error
        tries = policy.unavailable_retries + 1
        ceilings = [policy.delay(n, rng=lambda: 1.0) for n in range(1, tries)]
    return tries, ceilings[0], max(ceilings)


def exposure_table_retry(error: str) -> tuple[int, float, float]:
    assert error == "Unprocessed", error
    tries = history_store.UNPROCESSED_TRIES
    ceilings = [history_store.unprocessed_wait_ceiling(attempt) for attempt in range(tries - 1)]
    return tries, ceilings[0], max(ceilings)


def source_of(where: str, error: str) -> tuple[int, float, float]:
    if where == "honeyscore":
        return honeyscore_retry(error)
    if where == "exposure table":
        return exposure_table_retry(error)
    return asl_retry(where, error)


def test_the_readme_makes_retry_claims_in_the_form_this_test_reads():
    assert len(claims()) >= 15
    assert "`CheckIp`/`ShodanRateLimitError` 7 tries, 2 s → 30 s" in README  # the example in the prose


@pytest.mark.parametrize("claim", claims(), ids=lambda c: f"{c['where']}/{c['error']}")
def test_each_retry_claim_is_what_the_code_does(claim):
    claimed = (int(claim["tries"]), float(claim["first"]), float(claim["last"]))
    assert claimed == source_of(claim["where"], claim["error"])


def test_every_retrier_of_the_sweep_is_claimed_in_the_readme():
    claimed = {(c["where"], c["error"]) for c in claims()}
    for name, state in TASKS.items():
        if name in NOT_IN_THE_FAULT_TABLE:
            continue
        for retrier in state.get("Retry", []):
            errors = [e for e in retrier["ErrorEquals"] if not LAMBDA_ERRORS.match(e)]
            if errors:  # Lambda's own transient errors are retried everywhere, as AWS advises
                assert any((name, e) in claimed for e in errors), f"{name} retries {errors}: not in the README"


@pytest.mark.parametrize(
    "error", ["ShodanAuthError", "ShodanKeyUnavailableError", "ShodanResponseError", "InvalidInputError",
              "KeyError", "Sandbox.Timedout"],
)  # fmt: skip
def test_what_the_fault_table_says_is_not_retried_is_not(error):
    """A rejected key, an answer that is not a host, bad input, a crash: the same would come back."""
    for retrier in TASKS["CheckIp"]["Retry"]:
        assert not {error, "States.ALL", "States.TaskFailed"} & set(retrier["ErrorEquals"]), retrier


def test_a_claim_that_drifted_from_the_code_is_caught():
    assert source_of("CheckIp", "ShodanRateLimitError") != (6, 2.0, 30.0)  # the table's old "6 tries"
    assert source_of("honeyscore", "ShodanRateLimitError") != source_of("CheckIp", "ShodanRateLimitError")


FAULT_TABLE = README[README.index("## Faults: nothing lost") : README.index("## Security")]
NAMED_TEST = re.compile(r"`(?P<file>test_\w+\.py)(?:::(?P<test>\w+)(?:\[(?P<params>[^\]]+)\])?)?`")


def named_tests() -> list[tuple[str, str | None, str | None]]:
    return [(m["file"], m["test"], m["params"]) for m in NAMED_TEST.finditer(FAULT_TABLE)]


@pytest.mark.parametrize(("file", "test", "params"), named_tests())
def test_every_test_the_fault_table_names_exists(file, test, params):
    [path] = list((ROOT / "tests").rglob(file))
    source = path.read_text()
    if test is not None:
        assert re.search(rf"^def {test}\(", source, re.MULTILINE), f"{file} has no test {test}"
    for param in (params or "").split(","):
        assert not param or f'("{param}",' in source, f"{file}::{test} has no case {param}"
