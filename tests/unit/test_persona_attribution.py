"""Attribution: each tenure records the persona its task served (from the seed its init container
used), and the research report compares time to fingerprint for personas and the stock template."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ics_honeynet.exposure_history import IpHistory, TenureRecord, record_check, record_rotation
from ics_honeynet.persona import STOCK, persona_label, tenure_persona
from ics_honeynet.research.fingerprinting import Group, time_to_fingerprint, watched
from ics_honeynet.research.model import Tenure
from ics_honeynet.sweep_report import summarize

IP, NEW_IP = "192.0.2.1", "203.0.113.5"
TASK_A = "arn:aws:ecs:us-east-1:123456789012:task/honeynet/aaaa"
TASK_B = "arn:aws:ecs:us-east-1:123456789012:task/honeynet/bbbb"
EXTRA = {"ip": "198.51.100.9", "taskArn": None, "verdict": "NOT_INDEXED"}


def namer(pinned: str = ""):
    return lambda task, template: tenure_persona(task, template, pinned=pinned)


def check(previous, task, verdict="NOT_INDEXED", template="default", pinned="", at="2026-11-01T01:00:00+00:00"):
    result = {"ip": IP, "taskArn": task, "verdict": verdict, "startedAt": "2026-11-01T00:00:00+00:00"}
    if template:
        result["template"] = template
    history, _ = record_check(previous, result, checked_at=at, execution="s", name_persona=namer(pinned))
    return history


def test_a_new_tenure_records_the_persona_its_task_served():
    h = check(None, TASK_A)
    label = persona_label(TASK_A, "default")  # the init container's label for this task
    assert (h.persona_id, h.persona_model, h.template) == (label.id, label.model, "default")
    assert h.persona == {"id": label.id, "model": label.model}
    # The next sweep of the same task keeps it; a new task on the IP gets its own, the old one archived.
    h = check(check(h, TASK_A, "INDEXED"), TASK_B)
    first, second = h.tenures()
    assert first.persona_id == label.id and second.persona_id == persona_label(TASK_B, "default").id != first.persona_id


def test_a_pinned_seed_and_the_stock_control_label_every_task_alike():
    assert check(None, TASK_A, pinned="exp-1").persona_id == check(None, TASK_B, pinned="exp-1").persona_id
    stock = check(None, TASK_A, template="ipmi", pinned=STOCK)
    assert (stock.persona_id, stock.persona_model) == ("stock", "Conpot stock template ipmi")


def test_an_ip_without_a_task_or_template_records_no_persona():
    history, _ = record_check(None, EXTRA, checked_at="2026-11-01T01:00:00+00:00", execution="s", name_persona=namer())
    assert history.persona is None
    assert check(None, TASK_A, template=None).persona is None  # a target listed without its template


def test_a_replacement_serves_the_template_of_the_task_it_replaced():
    old = check(None, TASK_A, "FINGERPRINTED", template="guardian_ast")
    histories = {IP: old}
    chain = {"from": IP, "fromTask": TASK_A, "status": "ROTATED", "to": NEW_IP, "toTask": TASK_B,
             "toStartedAt": "2026-11-01T02:00:00+00:00", "toVerdict": "NOT_INDEXED"}  # fmt: skip
    record_rotation(histories, chain, checked_at="2026-11-01T02:01:00+00:00", execution="s", name_persona=namer())
    new = histories[NEW_IP]
    assert (new.template, new.persona_id) == ("guardian_ast", persona_label(TASK_B, "guardian_ast").id)
    assert histories[IP].persona_id == persona_label(TASK_A, "guardian_ast").id


PERSONA_TEXT = st.text(min_size=1, max_size=30)


@settings(max_examples=60, derandomize=True)
@given(
    st.one_of(st.none(), st.sampled_from(["default", "IEC104"])),
    st.one_of(st.none(), PERSONA_TEXT),
    st.one_of(st.none(), PERSONA_TEXT),
    st.lists(st.tuples(PERSONA_TEXT, PERSONA_TEXT), max_size=3),
)
def test_the_table_item_keeps_every_tenures_persona(template, persona_id, model, past):
    history = IpHistory(
        ip=IP,
        task_arn=TASK_A,
        first_seen_running="2026-11-01T00:00:00+00:00",
        template=template,
        persona_id=persona_id,
        persona_model=model,
        past_tenures=tuple(
            TenureRecord(task_arn=f"t/{i}", persona_id=p, persona_model=m) for i, (p, m) in enumerate(past)
        ),
    )
    assert IpHistory.from_item(history.to_item()) == history


def test_the_sweep_record_says_which_persona_each_result_was():
    result = {"ip": IP, "taskArn": TASK_A, "startedAt": "2026-11-01T00:00:00+00:00", "verdict": "FINGERPRINTED",
              "template": "default", "tags": ["honeypot"], "ports": [102]}  # fmt: skip
    summary = summarize([result, EXTRA], rotate_on="never", execution="e", evidence_bucket="b",
                        checked_at="2026-11-01T01:00:00+00:00", histories={}, name_persona=namer())  # fmt: skip
    recorded, extra = summary.record["results"]
    assert recorded["persona"] == {
        "id": persona_label(TASK_A, "default").id,
        "model": persona_label(TASK_A, "default").model,
    }
    assert "persona" not in extra
    assert summary.histories[IP].persona_id == recorded["persona"]["id"]


# -- the research report's comparison -----------------------------------------------------------
T0 = datetime(2026, 11, 1, tzinfo=UTC)
UNTIL = T0 + timedelta(days=30)


def tenure(n: int, persona: str | None, hours_to_fingerprint: float | None, watched_hours: float = 200) -> Tenure:
    started = T0 + timedelta(hours=n)
    fingerprinted = None if hours_to_fingerprint is None else started + timedelta(hours=hours_to_fingerprint)
    return Tenure(
        honeypot_ip=f"192.0.2.{n % 250 + 1}",
        task_arn=f"t/{n}",
        started=started,
        rotated=started + timedelta(hours=watched_hours),
        first_indexed=fingerprinted,
        first_fingerprinted=fingerprinted,
        persona=persona,
        persona_model=None if persona is None else "m",
    )


def test_the_stock_template_tagged_in_hours_and_personas_rarely_reads_as_faster_for_stock():
    stock = [tenure(i, STOCK, 6 + i) for i in range(8)]  # every stock tenure tagged within 6-13 h
    personas = [tenure(100 + i, f"p-{i:010x}", 150 if i == 0 else None) for i in range(8)]  # one tagged
    result = time_to_fingerprint([*stock, *personas, tenure(300, None, 1)], UNTIL)
    assert (result.stock.fingerprinted, result.persona.fingerprinted, result.unlabelled) == (8, 1, 1)
    assert result.stock.median_hours_to_fingerprint == pytest.approx(9.5)
    # Rates: 8 fingerprints in 8 x ~9.5 h against 1 in 150 + 7 x 200 h.
    expected = (8 / sum(6 + i for i in range(8))) / (1 / (150 + 7 * 200))
    assert result.ratio == pytest.approx(expected) and result.low > 1
    assert "the stock template was fingerprinted" in result.reading and result.reason is None
    json = result.to_json()
    assert [g["group"] for g in json["groups"]] == ["persona", "stock"] and json["unlabelledTenures"] == 1


@pytest.mark.parametrize(
    ("tenures", "reason"),
    [
        ([tenure(1, "p-1", 5)], "no stock (PersonaSeed=stock) tenure watched"),
        ([tenure(1, STOCK, 5)], "no persona tenure watched"),
        ([tenure(1, STOCK, None), tenure(2, "p-1", None)], "no tenure was fingerprinted yet"),
        ([tenure(1, None, 5)], "no persona tenure watched"),
    ],
)
def test_without_both_groups_or_any_fingerprint_there_is_no_ratio(tenures, reason):
    result = time_to_fingerprint(tenures, UNTIL)
    assert result.ratio is None and reason in result.reason and result.reading.startswith("Not compared")


GROUPS = st.lists(
    st.tuples(
        st.sampled_from([STOCK, "p-a", "p-b"]),
        st.one_of(st.none(), st.floats(min_value=0.1, max_value=500)),
        st.floats(min_value=1, max_value=600),
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=80, derandomize=True)
@given(GROUPS)
def test_each_tenure_is_watched_until_its_fingerprint_or_its_end(specs):
    tenures = [tenure(i, p, f, w) for i, (p, f, w) in enumerate(specs)]
    for t, (_p, f, w) in zip(tenures, specs, strict=True):
        seen = watched(t, UNTIL)
        end = min(w, (UNTIL - t.started).total_seconds() / 3600)
        assert seen.fingerprinted == (f is not None and f <= end)
        assert seen.hours == pytest.approx(f if seen.fingerprinted else end)
    result = time_to_fingerprint(tenures, UNTIL)
    assert result.persona.tenures + result.stock.tenures == len(tenures)
    assert result.stock.fingerprinted + result.persona.fingerprinted == sum(
        w.fingerprinted for w in map(lambda t: watched(t, UNTIL), tenures)
    )
    if result.ratio is not None:
        assert result.low <= result.ratio <= result.high


@settings(max_examples=60, derandomize=True)
@given(GROUPS)
def test_swapping_the_groups_inverts_the_ratio(specs):
    tenures = [tenure(i, p, f, w) for i, (p, f, w) in enumerate(specs)]
    swapped = [tenure(i, "p-x" if p == STOCK else STOCK, f, w) for i, (p, f, w) in enumerate(specs)]
    a, b = time_to_fingerprint(tenures, UNTIL), time_to_fingerprint(swapped, UNTIL)
    assert (a.ratio is None) == (b.ratio is None)
    if a.ratio is not None:
        assert a.ratio * b.ratio == pytest.approx(1.0)
        assert math.log(a.high) == pytest.approx(-math.log(b.low))
    assert {a.stock.group, a.persona.group} == {Group.STOCK, Group.PERSONA}


def test_the_reports_json_compares_personas_with_the_stock_template():
    from ics_honeynet.research.report import run_report

    tenures = [tenure(i, STOCK, 5.0) for i in range(3)] + [tenure(10 + i, "p-0123456789", None) for i in range(3)]
    report = run_report([], tenures, since=T0, until=UNTIL, resolver=lambda _ip: None)
    document = report.to_json()
    assert document["timeToFingerprint"]["stockToPersonaRateRatio"] == pytest.approx(report.fingerprinting.ratio)
    assert document["timeToFingerprint"]["reading"].startswith("Time to fingerprint: the stock template")
    assert {h["persona"]["id"] for h in document["honeypots"]} == {STOCK, "p-0123456789"}


def test_a_replacement_records_the_template_its_own_service_serves():
    """ECS does not say which replacement belongs to which stopped task: paired across services,
    the replacement's tenure still records what its own service serves."""
    histories = {IP: check(None, TASK_A, "FINGERPRINTED", template="guardian_ast")}
    chain = {"from": IP, "fromTask": TASK_A, "status": "ROTATED", "to": NEW_IP, "toTask": TASK_B,
             "toStartedAt": "2026-11-01T02:00:00+00:00", "toVerdict": "NOT_INDEXED", "toTemplate": "ipmi"}  # fmt: skip
    record_rotation(histories, chain, checked_at="2026-11-01T02:01:00+00:00", execution="s", name_persona=namer())
    assert (histories[NEW_IP].template, histories[NEW_IP].persona_model) == (
        "ipmi",
        persona_label(TASK_B, "ipmi").model,
    )
