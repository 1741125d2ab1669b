"""The lookup's shared Shodan pace, its in-invocation retries, the summary's gathering of the Map's
entries, and the key's configuration errors."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ics_honeynet.api_key import ShodanKeyUnavailableError, read_api_key
from ics_honeynet.exposure import ShodanAuthError, ShodanRateLimitError, ShodanUnavailableError
from ics_honeynet.pacing import IDLE_LEAD, MARGIN, MAX_RACES, DynamoSlotStore, PacerUnavailableError, SharedPacer
from ics_honeynet.retries import RetryPolicy, lookup_with_retries
from ics_honeynet.sweep_results import InvalidSweepResults, gather_results


def failing(*errors: Exception):
    calls = []

    def lookup():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return {"verdict": "NOT_INDEXED"}

    return lookup, calls


def test_the_honeyscores_retries_per_error():
    policy, sleeps = RetryPolicy(), []
    lookup, calls = failing(ShodanRateLimitError("slow down"), ShodanUnavailableError("502"))
    assert lookup_with_retries(lookup, policy, sleeps.append) == {"verdict": "NOT_INDEXED"}
    assert len(calls) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 1 and 0 <= sleeps[1] <= 2  # a 429's first wait, then a 5xx's
    lookup, calls = failing(*[ShodanUnavailableError("503")] * 4)
    with pytest.raises(ShodanUnavailableError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == 4  # the first try and 3 retries
    lookup, calls = failing(*[ShodanRateLimitError("x")] * 8)
    with pytest.raises(ShodanRateLimitError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == 8
    lookup, calls = failing(ShodanAuthError("bad key"))
    with pytest.raises(ShodanAuthError):
        lookup_with_retries(lookup, policy, sleeps.append)
    assert len(calls) == 1  # no retry helps a rejected key


def test_the_honeyscores_retry_policy_waits_as_the_readme_says():
    policy = RetryPolicy()  # the policy the lookup uses for the honeyscore
    at_most = {"rng": lambda: 1.0}
    assert [policy.delay(n, **at_most, base=policy.rate_limit_base_s) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert [policy.delay(n, **at_most) for n in range(1, 4)] == [2, 4, 8]
    sleeps: list[float] = []
    lookup, _calls = failing(*[ShodanRateLimitError("x")] * 8)
    with pytest.raises(ShodanRateLimitError):
        lookup_with_retries(lookup, policy, sleeps.append)
    ceilings = [1, 2, 4, 8, 16, 30, 30]  # full jitter: each wait drawn below its ceiling
    assert len(sleeps) == 7 and all(0 <= s <= c for s, c in zip(sleeps, ceilings, strict=True))


def test_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(base_delay_s=2, max_delay_s=30)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [2, 4, 8, 16, 30, 30]
    assert policy.delay(3, rng=lambda: 0.0) == 0


def test_gathering_completes_each_entry_and_accounts_for_every_target():
    targets = [{"ip": f"192.0.2.{i}", "taskArn": f"t{i}", "startedAt": "2026-11-24T10:00:00+00:00"} for i in range(6)]
    stored = {
        "evidence/192.0.2.1/s.json": {"ip": "192.0.2.1", "verdict": "INDEXED", "ports": [502], "evidenceKey": "x"},
        "errors/192.0.2.2/s.json": {"Error": "ShodanUnavailableError", "Cause": '{"errorMessage": "HTTP 503"}'},
    }

    def read(key):
        return stored[key]

    entries = [
        {"ip": "192.0.2.0", "verdict": "NOT_INDEXED"},
        {"ip": "192.0.2.1", "verdict": "INDEXED", "taskArn": "t1", "evidenceKey": "evidence/192.0.2.1/s.json",
         "evidenceStored": True},
        {"ip": "192.0.2.2", "verdict": "ERROR", "error": "ShodanUnavailableError",
         "errorKey": "errors/192.0.2.2/s.json", "errorStored": True},
        {"ip": "192.0.2.3", "verdict": "ERROR", "error": "Sandbox.Timedout", "errorStored": False},
        {"ip": "192.0.2.4", "verdict": "FINGERPRINTED", "taskArn": "t4", "ports": [102], "evidenceStored": False,
         "evidenceKey": "evidence/192.0.2.4/s.json", "evidenceError": {"Error": "S3.AccessDenied", "Cause": "no"}},
    ]  # fmt: skip
    results = gather_results(targets, entries, read)
    assert [(r["ip"], r["verdict"], r.get("error")) for r in results] == [
        ("192.0.2.0", "NOT_INDEXED", None),
        ("192.0.2.1", "INDEXED", None),
        ("192.0.2.2", "ERROR", "ShodanUnavailableError"),
        ("192.0.2.3", "ERROR", "Sandbox.Timedout"),
        ("192.0.2.4", "FINGERPRINTED", None),
        ("192.0.2.5", "ERROR", "NoResult"),
    ]
    found, failed, timed_out, unstored = results[1], results[2], results[3], results[4]
    assert found["ports"] == [502] and found["evidence"] == {"stored": True} and found["taskArn"] == "t1"
    assert found["evidenceKey"] == "evidence/192.0.2.1/s.json"  # where it is, not what the object said
    assert failed["cause"] == "HTTP 503" and failed["failure"] == {"stored": True}
    assert timed_out["failure"] == {"stored": False} and timed_out["taskArn"] == "t3"
    assert unstored["ports"] == [102] and unstored["evidence"]["stored"] is False
    assert unstored["evidence"]["Error"] == "S3.AccessDenied"
    with pytest.raises(InvalidSweepResults, match="no 'ip'"):
        gather_results(targets, [{"verdict": "ERROR"}], read)


class MemorySlots:
    """The slot item, as DynamoDB's conditional writes treat it (one writer at a time)."""

    def __init__(self):
        self.next_slot = None
        self.lock = threading.Lock()

    def queue_behind(self, now, interval):
        with self.lock:
            if self.next_slot is None or self.next_slot < now:
                return None
            self.next_slot += interval
            return self.next_slot - interval

    def start_queue(self, now, slot, interval):
        with self.lock:
            if self.next_slot is not None and self.next_slot >= now:
                return False
            self.next_slot = slot + interval
            return True


def fake_clock():
    now, slept = [100.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    return now, slept, sleep


def test_requests_are_paced_start_to_start_with_a_small_margin():
    now, _slept, sleep = fake_clock()
    interval = MARGIN / 2
    pacer = SharedPacer(MemorySlots(), 2.0, clock=lambda: now[0], sleep=sleep)
    lead = IDLE_LEAD * interval  # an idle pacer's first slot: just ahead of its own reservation
    assert pacer.wait() == pytest.approx(lead)
    now[0] += 0.2  # the request took 200 ms: it counts toward the interval
    assert pacer.wait() == pytest.approx(interval - 0.2)
    now[0] += 5  # a long pause: no debt, no burst after it
    assert pacer.wait() == pytest.approx(lead) and pacer.wait() == pytest.approx(interval)
    with pytest.raises(ValueError, match="must be positive"):
        SharedPacer(MemorySlots(), 0, clock=lambda: 0.0, sleep=sleep)


def test_two_containers_share_one_pace_and_a_cold_one_does_not_burst():
    now, _slept, sleep = fake_clock()
    slots = MemorySlots()
    warm = SharedPacer(slots, 1.0, clock=lambda: now[0], sleep=sleep)
    reserved = [warm.reserve() for _ in range(3)]  # three requests queued by one container
    cold = SharedPacer(slots, 1.0, clock=lambda: now[0], sleep=sleep)  # a new container, no memory
    reserved.append(cold.reserve())
    first = 100.0 + IDLE_LEAD * MARGIN
    assert reserved == pytest.approx([first, first + MARGIN, first + 2 * MARGIN, first + 3 * MARGIN])


class Racing(MemorySlots):
    """Another writer takes the slot between our two conditional writes, ``races`` times."""

    def __init__(self, races):
        super().__init__()
        self.races = races

    def start_queue(self, now, slot, interval):
        if self.races:
            self.races -= 1
            return False
        return super().start_queue(now, slot, interval)


def test_a_lost_race_tries_again_and_endless_losses_are_an_error():
    assert SharedPacer(Racing(3), 1.0, clock=lambda: 5.0, sleep=lambda _s: None).reserve() == 5.0 + IDLE_LEAD * MARGIN
    with pytest.raises(PacerUnavailableError, match=f"lost {MAX_RACES} races"):
        SharedPacer(Racing(MAX_RACES), 1.0, clock=lambda: 5.0, sleep=lambda _s: None).reserve()


def pace_table() -> Any:
    """The pace table (as template.yaml's ShodanPaceTable) in moto, named "pace"; inside mock_aws."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName="pace",
        AttributeDefinitions=[{"AttributeName": "pacer", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pacer", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def test_the_dynamodb_slot_store_reserves_with_conditional_writes():
    with mock_aws():
        client = pace_table()
        store = DynamoSlotStore(client, "pace", "/ics-honeynet/shodan-api-key")
        assert store.queue_behind(1000.0, 1.03) is None  # no item: nothing queued
        assert store.start_queue(1000.0, 1000.0, 1.03) is True
        assert store.start_queue(1000.5, 1000.5, 1.03) is False  # queued until 1001.03: another request went
        assert store.queue_behind(1000.5, 1.03) == pytest.approx(1001.03)
        assert store.queue_behind(1000.6, 1.03) == pytest.approx(1002.06)
        assert store.queue_behind(1010.0, 1.03) is None  # idle again: no debt
        assert store.start_queue(1010.0, 1010.2, 1.03) is True  # the slot: 0.2 s ahead
        item = client.get_item(TableName="pace", Key={"pacer": {"S": "/ics-honeynet/shodan-api-key"}})["Item"]
        assert float(item["nextSlot"]["N"]) == pytest.approx(1011.23)


def test_a_429_slows_the_pacer_down_within_a_bound_and_retries_within_a_second():
    pacer = SharedPacer(MemorySlots(), 20.0, clock=lambda: 0.0, sleep=lambda _s: None)
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
    "(aws ssm put-parameter --region eu-central-1 --type SecureString --name /ics/key --value ...), "
    "or, to sweep without a Shodan key, deploy with ShodanEngine=internetdb (Shodan InternetDB alone)"
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
    # Not a per-IP lookup error: the state machine does not record it for each IP, the sweep fails by its name.
    assert not isinstance(raised.value, (ShodanAuthError, ValueError))


def test_an_empty_key_is_a_configuration_error_and_a_stored_key_is_returned():
    with pytest.raises(ShodanKeyUnavailableError) as raised:
        read_api_key(lambda _name: "  ", "/ics/key", "eu-central-1")
    assert str(raised.value) == f"the Shodan API key parameter is empty: {FIX}"
    assert read_api_key(lambda name: f"key-of-{name}", "/ics/key", "eu-central-1") == "key-of-/ics/key"
