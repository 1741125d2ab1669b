"""Every target of a sweep gets its full result back from its Map entry and S3 (sweep_results):
each kind of entry, compared whole, as the sweep record stores it."""

from __future__ import annotations

import json

import pytest

from ics_honeynet.sweep_results import MAX_CAUSE_CHARS, InvalidSweepResults, failure_message, gather_results

TARGET = {"ip": "192.0.2.7", "taskArn": "arn:task/7", "startedAt": "2026-11-24T10:00:00+00:00"}
OURS = {"ip": "192.0.2.7", "taskArn": "arn:task/7", "startedAt": "2026-11-24T10:00:00+00:00"}
CHECK = {"ip": "192.0.2.7", "verdict": "INDEXED", "ports": [502], "evidenceKey": "what the object said"}


def one(entry: dict, stored: dict | None = None) -> dict:
    def read(key: str) -> dict:
        if stored is None or key not in stored:
            raise KeyError(key)
        return stored[key]

    [result] = gather_results([TARGET], [entry], read)
    return result


def test_not_on_shodan():
    assert one({"ip": "192.0.2.7", "verdict": "NOT_INDEXED"}) == OURS | {"verdict": "NOT_INDEXED", "priorOwner": None}


def test_stored_evidence_is_read_back_and_filed_where_it_is():
    entry = {
        "ip": "192.0.2.7",
        "verdict": "INDEXED",
        "evidenceKey": "evidence/192.0.2.7/s.json",
        "evidenceStored": True,
    }
    assert one(entry, {"evidence/192.0.2.7/s.json": CHECK}) == OURS | {
        "verdict": "INDEXED",
        "ports": [502],
        "evidenceKey": "evidence/192.0.2.7/s.json",
        "evidence": {"stored": True},
    }


def test_stored_evidence_that_cannot_be_read_keeps_the_verdict_and_says_why():
    entry = {"ip": "192.0.2.7", "verdict": "INDEXED", "evidenceKey": "evidence/gone.json", "evidenceStored": True}
    assert one(entry) == OURS | entry | {"evidence": {"stored": True, "readError": "KeyError"}}


def test_evidence_not_stored_keeps_the_whole_check_and_s3s_answer():
    refused = {"Error": "S3.AccessDenied", "Cause": "denied"}
    entry = CHECK | {"evidenceStored": False, "evidenceError": refused}
    assert one(entry) == OURS | {
        "verdict": "INDEXED",
        "ports": [502],
        "evidenceKey": "what the object said",
        "evidence": {"stored": False, "Error": "S3.AccessDenied", "Cause": "denied"},
    }
    assert one(CHECK | {"evidenceStored": False})["evidence"] == {"stored": False, "Error": None, "Cause": None}


def test_an_error_with_its_stored_cause():
    cause = json.dumps({"errorMessage": "Shodan answered HTTP 503", "errorType": "ShodanUnavailableError"})
    entry = {"ip": "192.0.2.7", "verdict": "ERROR", "error": "ShodanUnavailableError", "errorKey": "errors/k.json",
             "errorStored": True}  # fmt: skip
    assert one(entry, {"errors/k.json": {"Error": "ShodanUnavailableError", "Cause": cause}}) == OURS | {
        "verdict": "ERROR",
        "error": "ShodanUnavailableError",
        "cause": "Shodan answered HTTP 503",
        "errorKey": "errors/k.json",
        "failure": {"stored": True},
    }


def test_an_error_whose_cause_cannot_be_read_or_was_not_stored():
    entry = {
        "ip": "192.0.2.7",
        "verdict": "ERROR",
        "error": "KeyError",
        "errorKey": "errors/k.json",
        "errorStored": True,
    }
    assert one(entry) == OURS | {
        "verdict": "ERROR",
        "error": "KeyError",
        "cause": "(cause not readable: KeyError)",
        "errorKey": "errors/k.json",
        "failure": {"stored": True},
    }
    not_stored = entry | {"errorStored": False}
    assert one(not_stored) == OURS | {
        "verdict": "ERROR",
        "error": "KeyError",
        "cause": None,
        "errorKey": "errors/k.json",
        "failure": {"stored": False},
    }
    # Stored, but no key to read it by: nothing is read.
    assert one({"ip": "192.0.2.7", "verdict": "ERROR", "error": "X", "errorStored": True}) == OURS | {
        "verdict": "ERROR",
        "error": "X",
        "cause": None,
        "failure": {"stored": True},
    }


def test_an_entry_without_a_verdict_or_error_name_is_an_error_still():
    assert one({"ip": "192.0.2.7"}) == OURS | {"verdict": "ERROR", "error": "error", "cause": None,
                                               "failure": {"stored": False}}  # fmt: skip


def test_a_target_without_an_entry_is_accounted_for():
    [result] = gather_results([TARGET], [], lambda key: {})
    assert result == OURS | {"verdict": "ERROR", "error": "NoResult", "cause": "no check result for this IP"}


def test_entries_are_matched_to_targets_by_ip_and_need_one():
    targets = [TARGET, {"ip": "192.0.2.8"}]
    results = gather_results(targets, [{"ip": "192.0.2.8", "verdict": "NOT_INDEXED"}], lambda key: {})
    assert [(r["ip"], r["verdict"], r.get("error")) for r in results] == [
        ("192.0.2.7", "ERROR", "NoResult"),
        ("192.0.2.8", "NOT_INDEXED", None),
    ]
    assert results[1] == {"ip": "192.0.2.8", "taskArn": None, "startedAt": None, "verdict": "NOT_INDEXED",
                          "priorOwner": None}  # fmt: skip
    for bad in ({"verdict": "ERROR"}, {"ip": "", "verdict": "ERROR"}, "192.0.2.7"):
        with pytest.raises(InvalidSweepResults, match=r"^a Map entry has no 'ip': "):
            gather_results([TARGET], [bad], lambda key: {})


@pytest.mark.parametrize(
    ("cause", "message"),
    [
        (None, ""),
        ("", ""),
        ("plain text", "plain text"),
        ('{"errorMessage": "HTTP 503", "errorType": "X"}', "HTTP 503"),
        ('{"errorType": "X"}', '{"errorType": "X"}'),
        ('{"errorMessage": ""}', '{"errorMessage": ""}'),
        ('["errorMessage"]', '["errorMessage"]'),
        (42, "42"),
    ],
)
def test_a_catchs_cause_as_text(cause, message):
    assert failure_message(cause) == message


def test_a_long_cause_is_cut_after_it_is_parsed():
    cause = json.dumps({"errorMessage": "m" * 1000, "stackTrace": ["x"] * 100})
    [result] = gather_results([TARGET], [], lambda key: {})
    assert result["cause"] == "no check result for this IP"
    entry = {"ip": "192.0.2.7", "verdict": "ERROR", "error": "E", "errorKey": "k", "errorStored": True}
    assert one(entry, {"k": {"Cause": cause}})["cause"] == "m" * MAX_CAUSE_CHARS
    assert MAX_CAUSE_CHARS == 300
