"""Batches: how a sweep splits its targets, retries per IP inside a batch, and gathers results."""

from __future__ import annotations

import sys

import pytest

from localcloud.functions import FUNCTIONS_DIR

sys.path.insert(0, str(FUNCTIONS_DIR / "shodan_lookup"))
sys.path.insert(0, str(FUNCTIONS_DIR / "list_honeypot_ips"))
sys.path.insert(0, str(FUNCTIONS_DIR / "summarize_sweep"))
from api_key import ShodanKeyUnavailableError, read_api_key
from batch import RetryPolicy, lookup_with_retries, targets_of
from exposure import ShodanAuthError, ShodanRateLimitError, ShodanUnavailableError
from honeypot_ips import plan_batches
from pacing import MARGIN, RequestPacer
from sweep_results import InvalidSweepResults, gather_results


def test_batches_cover_every_target_once():
    assert plan_batches(0, 60) == []
    assert plan_batches(125, 60) == [
        {"batch": 0, "first": 0, "size": 60},
        {"batch": 1, "first": 60, "size": 60},
        {"batch": 2, "first": 120, "size": 5},
    ]
    with pytest.raises(ValueError, match="at least 1"):
        plan_batches(3, 0)


def failing(*errors: Exception):
    calls = []

    def lookup():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return {"verdict": "NOT_INDEXED"}

    return lookup, calls


def test_retries_follow_the_asl_policy_per_error():
    policy, sleeps = RetryPolicy(), []
    lookup, calls = failing(ShodanRateLimitError("slow down"), ShodanUnavailableError("502"))
    assert lookup_with_retries(lookup, policy, sleeps.append) == {"verdict": "NOT_INDEXED"}
    assert len(calls) == 3 and len(sleeps) == 2
    lookup, calls = failing(*[ShodanUnavailableError("503")] * 4)
    with pytest.raises(ShodanUnavailableError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == 1 + policy.unavailable_retries
    lookup, calls = failing(*[ShodanRateLimitError("x")] * 8)
    with pytest.raises(ShodanRateLimitError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == policy.rate_limit_tries
    lookup, calls = failing(ShodanAuthError("bad key"))
    with pytest.raises(ShodanAuthError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == 1  # no retry helps a rejected key


def test_backoff_is_exponential_capped_jittered_and_scaled():
    policy = RetryPolicy(base_delay_s=2, max_delay_s=30, time_scale=0.5)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 15, 15]
    assert policy.delay(3, rng=lambda: 0.0) == 0


def test_a_batch_reads_its_slice_and_rejects_anything_else():
    document = {"targets": [{"ip": f"192.0.2.{i}"} for i in range(5)]}
    assert [t["ip"] for t in targets_of(document, 3, 2)] == ["192.0.2.3", "192.0.2.4"]
    with pytest.raises(ValueError, match="outside the 5 targets"):
        targets_of(document, 4, 2)
    with pytest.raises(ValueError, match="no 'targets' list"):
        targets_of({"ips": []}, 0, 1)


def test_gathering_accounts_for_every_target_whatever_happened_to_its_batch():
    targets = [{"ip": f"192.0.2.{i}", "taskArn": f"t{i}"} for i in range(5)]
    stored = {
        "results/0.json": [{"ip": "192.0.2.0", "verdict": "NOT_INDEXED"}, {"ip": "192.0.2.1", "verdict": "INDEXED"}]
    }

    def read(key):
        return stored[key]

    batches = [
        {"batch": 0, "first": 0, "size": 2, "resultsKey": "results/0.json"},
        {"batch": 1, "first": 2, "size": 2, "error": "States.Timeout", "cause": "took too long"},
        {"batch": 2, "first": 4, "size": 1, "resultsKey": "results/gone.json"},
    ]
    results = gather_results(targets, batches, read)
    assert [(r["ip"], r["verdict"], r.get("error")) for r in results] == [
        ("192.0.2.0", "NOT_INDEXED", None),
        ("192.0.2.1", "INDEXED", None),
        ("192.0.2.2", "ERROR", "States.Timeout"),
        ("192.0.2.3", "ERROR", "States.Timeout"),
        ("192.0.2.4", "ERROR", "ResultsNotReadable"),
    ]
    assert results[2]["taskArn"] == "t2" and results[2]["cause"] == "took too long"
    assert gather_results(targets[:1], [], read)[0]["error"] == "NoResult"
    with pytest.raises(InvalidSweepResults, match="no 'first'/'size'"):
        gather_results(targets, [{"batch": 0}], read)


def test_requests_are_paced_start_to_start_with_a_small_margin():
    now, slept = [100.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = RequestPacer(2.0, clock=lambda: now[0], sleep=sleep)
    assert pacer.wait() == 0  # the first request goes at once
    now[0] += 0.2  # the request took 200 ms: it counts toward the interval
    assert pacer.wait() == pytest.approx(MARGIN / 2 - 0.2)
    now[0] += 5  # a long pause: no debt, no burst after it
    assert pacer.wait() == 0 and pacer.wait() == pytest.approx(MARGIN / 2)
    with pytest.raises(ValueError, match="must be positive"):
        RequestPacer(0)


def test_a_429_slows_the_pacer_down_within_a_bound_and_retries_within_a_second():
    pacer = RequestPacer(20.0)
    base = pacer.interval
    for _ in range(20):
        pacer.slow_down()
    assert pacer.interval == pytest.approx(base * 1.5)
    policy, sleeps, slowed = RetryPolicy(), [], []
    lookup, _calls = failing(ShodanRateLimitError("bunched"))
    lookup_with_retries(lookup, policy, sleeps.append, lambda: slowed.append(1))
    assert slowed == [1] and 0 <= sleeps[0] <= 1.0  # within one Shodan window


# -- the key ---------------------------------------------------------------------------------
FIX = (
    "store the key as a SecureString in SSM parameter /ics/key in region eu-central-1 "
    "(aws ssm put-parameter --region eu-central-1 --type SecureString --name /ics/key --value ...)"
)


def test_a_missing_key_parameter_is_a_configuration_error_naming_parameter_and_region():
    def missing(name: str) -> str:
        raise LookupError(f"An error occurred (ParameterNotFound) when calling the GetParameter operation: {name}")

    with pytest.raises(ShodanKeyUnavailableError) as raised:
        read_api_key(missing, "/ics/key", "eu-central-1")
    assert str(raised.value) == (
        "the Shodan API key could not be read (An error occurred (ParameterNotFound) when calling the "
        f"GetParameter operation: /ics/key): {FIX}"
    )
    # Not a per-IP lookup error: the batch does not record it for each IP, the sweep fails by its name.
    assert not isinstance(raised.value, (ShodanAuthError, ValueError))


def test_an_empty_key_is_a_configuration_error_and_a_stored_key_is_returned():
    with pytest.raises(ShodanKeyUnavailableError) as raised:
        read_api_key(lambda _name: "  ", "/ics/key", "eu-central-1")
    assert str(raised.value) == f"the Shodan API key parameter is empty: {FIX}"
    assert read_api_key(lambda name: f"key-of-{name}", "/ics/key", "eu-central-1") == "key-of-/ics/key"
