"""Censys's answers read (censys.py): its host record and its 404 into verdicts, every other
answer a typed error; the monthly lookup budget (lookup_budget.py) as a conditional counter;
the token read from SSM (censys_client.read_token). Focused cases, then properties over
generated answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ics_honeynet.censys import (
    MAX_BODY_BYTES,
    CensysAuthError,
    CensysError,
    CensysHost,
    CensysRateLimitError,
    CensysResponseError,
    CensysTokenUnavailableError,
    CensysUnavailableError,
    opinion,
    read_answer,
)
from ics_honeynet.censys_client import read_token
from ics_honeynet.contracts import Verdict
from ics_honeynet.lookup_budget import MonthlyBudget
from ics_honeynet.pacing import PacerUnavailableError
from tests.unit.test_lookup_pacing import pace_table
from tests.unit.test_lookup_properties import hostile_text, json_scalars, json_values

IP = "198.51.100.23"
NOT_FOUND = b'{"title":"Not Found","status":404,"detail":"host not found"}'
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def service(port: object, protocol: object = "MODBUS", labels: object = None) -> dict[str, object]:
    found: dict[str, object] = {"port": port, "protocol": protocol, "transport_protocol": "tcp"}
    if labels is not None:
        found["labels"] = labels
    return found


def record(*services: object, ip: object = IP, labels: object = None) -> bytes:
    resource: dict[str, object] = {"ip": ip, "services": list(services), "location": {"country": "Germany"}}
    if labels is not None:
        resource["labels"] = labels
    return json.dumps({"result": {"resource": resource, "extensions": {}}}).encode()


def test_a_host_with_services_is_indexed_with_its_ports_protocols_and_labels():
    host = read_answer(IP, 200, record(service(502), service(102, "S7", [{"value": "ICS"}]), service(80, "HTTP")))
    assert host == CensysHost(ports=(80, 102, 502), protocols=("HTTP", "MODBUS", "S7"), labels=frozenset({"ics"}))
    assert opinion(host) == {
        "verdict": Verdict.INDEXED,
        "ports": [80, 102, 502],
        "protocols": ["HTTP", "MODBUS", "S7"],
        "tags": ["ics"],
    }


def test_a_honeypot_label_on_the_host_or_any_service_is_fingerprinted():
    on_host = read_answer(IP, 200, record(service(502), labels=[{"value": " Honeypot "}]))
    on_service = read_answer(IP, 200, record(service(502), service(102, "S7", [{"value": "HONEYPOT"}])))
    assert on_host is not None and on_host.verdict == Verdict.FINGERPRINTED
    assert on_service is not None and on_service.verdict == Verdict.FINGERPRINTED
    # Only that label: "tarpit" and the like are kept, never read as fingerprinted.
    other = read_answer(IP, 200, record(service(502), labels=[{"value": "tarpit"}, {"value": "honeypots"}]))
    assert other is not None and other.verdict == Verdict.INDEXED
    assert opinion(other)["tags"] == ["honeypots", "tarpit"]


def test_its_404_and_a_record_without_services_are_not_indexed():
    assert read_answer(IP, 404, NOT_FOUND) is None
    assert read_answer(IP, 404, b"{}") is None
    assert opinion(None) == {"verdict": Verdict.NOT_INDEXED, "ports": [], "protocols": [], "tags": []}
    bare = read_answer(IP, 200, record())
    assert bare == CensysHost(ports=(), protocols=(), labels=frozenset())
    assert bare.verdict == Verdict.NOT_INDEXED
    no_list = read_answer(IP, 200, json.dumps({"result": {"resource": {"ip": IP}}}).encode())
    assert no_list is not None and no_list.verdict == Verdict.NOT_INDEXED
    # A 404 that is not Censys's problem document (a proxy, a wrong path) is never "not indexed".
    for body in (b"<html>Not Found</html>", b"", b"null", b"[]", b'{"status": 500}'):
        with pytest.raises(CensysResponseError, match="404"):
            read_answer(IP, 404, body)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, CensysRateLimitError),
        (500, CensysUnavailableError),
        (502, CensysUnavailableError),
        (503, CensysUnavailableError),
        (504, CensysUnavailableError),
        (408, CensysUnavailableError),
        (401, CensysAuthError),
        (403, CensysAuthError),
        (400, CensysResponseError),
        (402, CensysResponseError),
        (422, CensysResponseError),
        (301, CensysResponseError),  # the client follows no redirect: not Censys's answer
        (204, CensysResponseError),
    ],
)
def test_every_other_status_is_a_typed_error(status: int, error: type[CensysError]):
    with pytest.raises(error) as raised:
        read_answer(IP, status, record(service(502)))
    assert type(raised.value) is error
    assert str(status) in str(raised.value) and IP in str(raised.value)


def test_a_rejected_token_says_so():
    with pytest.raises(CensysAuthError, match="Censys rejected the token"):
        read_answer(IP, 401, b'{"title":"Unauthorized","status":401}')


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"result": null}',
        b'{"result": {"resource": []}}',
        b'{"resource": {"ip": "198.51.100.23"}}',  # not under result
        json.dumps({"result": {"resource": {"ip": IP, "services": {"port": 502}}}}).encode(),
    ],
)
def test_a_200_that_is_not_a_host_record_is_a_response_error(body: bytes):
    with pytest.raises(CensysResponseError):
        read_answer(IP, 200, body)


def test_a_record_about_another_ip_or_none_is_a_response_error():
    for ip in ("198.51.100.24", None, 5, "not an ip"):
        with pytest.raises(CensysResponseError, match="when asked about"):
            read_answer(IP, 200, record(service(502), ip=ip))
    # The same address spelled otherwise is the same host.
    assert read_answer("2001:db8::1", 200, record(service(502), ip="2001:0db8:0:0:0:0:0:1")) is not None


def test_malformed_services_and_labels_are_ignored_not_raised():
    host = read_answer(
        IP,
        200,
        record(
            service(502, labels=[{"value": "ics"}, "honeypot", {"value": 3}, {"value": "  "}, None]),
            service(70000),
            service("102"),
            service(True),
            "a string",
            service(44818, protocol=["EIP"]),
            labels={"value": "honeypot"},
        ),
    )
    assert host == CensysHost(ports=(502, 44818), protocols=("MODBUS",), labels=frozenset({"ics"}))


def test_a_body_past_the_bound_is_a_response_error():
    with pytest.raises(CensysResponseError, match="larger than"):
        read_answer(IP, 200, b" " * (MAX_BODY_BYTES + 1))
    assert read_answer(IP, 200, record(service(502)).ljust(MAX_BODY_BYTES)) is not None


@SETTINGS
@given(status=st.integers(100, 599), body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_answer_is_a_host_none_or_a_typed_error(status: int, body: bytes):
    try:
        host = read_answer(IP, status, body)
    except CensysError:
        return
    assert status in (200, 404)
    said = opinion(host)
    assert said["verdict"] in (Verdict.NOT_INDEXED, Verdict.INDEXED, Verdict.FINGERPRINTED)
    assert len(json.dumps(said)) < 8 * 1024  # bounded, whatever came in


@SETTINGS
@given(
    ports=st.lists(st.integers(-5, 70000) | json_scalars, max_size=300),
    labels=st.lists(st.fixed_dictionaries({"value": hostile_text | json_scalars}) | json_values, max_size=40),
)
def test_any_record_reads_bounded_and_ports_are_ports(ports: list[object], labels: list[object]):
    host = read_answer(IP, 200, record(*(service(p, labels=labels) for p in ports)))
    assert host is not None
    assert all(isinstance(p, int) and 0 <= p <= 65535 for p in host.ports)
    assert len(host.ports) <= 100 and len(host.labels) <= 16
    assert host.verdict == (
        Verdict.FINGERPRINTED if "honeypot" in host.labels else Verdict.INDEXED if host.ports else Verdict.NOT_INDEXED
    )


def test_the_monthly_budget_is_a_conditional_counter_per_month():
    with mock_aws():
        client = pace_table()
        budget = MonthlyBudget(client, "pace", "api.platform.censys.io", 3)
        november, december = datetime(2026, 11, 30, 23, 59, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
        assert [budget.spend_one(november) for _ in range(5)] == [True, True, True, False, False]
        assert budget.spend_one(december) is True  # a new month, a new budget
        item = client.get_item(TableName="pace", Key={"pacer": {"S": "api.platform.censys.io 2026-11"}})["Item"]
        assert item["used"] == {"N": "3"}  # refused spends change nothing
        assert MonthlyBudget(client, "pace", "x", 0).spend_one(november) is False
        with pytest.raises(PacerUnavailableError, match="did not answer"):
            MonthlyBudget(client, "no-such-table", "x", 3).spend_one(november)
    with pytest.raises(ValueError, match="negative"):
        MonthlyBudget(None, "pace", "x", -1)


def test_an_unreadable_or_empty_token_names_the_parameter_and_never_the_token():
    def missing(_name: str) -> object:
        raise RuntimeError("ParameterNotFound: An error occurred")

    with pytest.raises(CensysTokenUnavailableError, match="/ics/censys") as raised:
        read_token(missing, "/ics/censys", "eu-central-1")
    assert "ParameterNotFound" in str(raised.value) and "eu-central-1" in str(raised.value)
    with pytest.raises(CensysTokenUnavailableError, match="empty"):
        read_token(lambda _name: " ", "/ics/censys", "eu-central-1")
    assert read_token(lambda name: f"token-of-{name}", "/ics/censys", "eu-central-1") == "token-of-/ics/censys"
