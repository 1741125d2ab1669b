"""shodan_alert: one Shodan alert kept on exactly the honeynet's IPs (a fake Shodan; the real
client against the local Shodan is in tests/integration/test_shodan_push.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ics_honeynet.contracts import AlertSyncStatus
from ics_honeynet.exposure import ShodanRateLimitError, ShodanResponseError
from ics_honeynet.shodan_alert import (
    TRIGGERS,
    AlertRecord,
    AlertSyncer,
    alert_named,
    answer_id,
    parse_monitored_ip_limit,
)

URL = "https://abc.lambda-url.us-east-1.on.aws/"
IPS = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]


@dataclass
class FakeShodan:
    limit: int = 16
    alerts: dict[str, list[str]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    triggers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    attached: dict[str, str] = field(default_factory=dict)
    notifiers: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    fail_on: str | None = None

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_on:
            self.fail_on = None
            raise ShodanRateLimitError("Request rate limit reached")

    def monitored_ip_limit(self):
        self._call("info")
        return self.limit

    def create_webhook_notifier(self, url, description):
        self._call("notifier")
        nid = f"n{len(self.notifiers) + 1}"
        self.notifiers[nid] = url
        return nid

    def create_alert(self, name, ips):
        self._call("create")
        aid = f"A{self.calls.count('create')}"
        self.alerts[aid], self.names[aid] = list(ips), name
        return aid

    def find_alert(self, name):
        self._call("find")
        return next((aid for aid in self.alerts if self.names[aid] == name), None)

    def edit_alert(self, alert_id, ips):
        self._call("edit")
        if alert_id not in self.alerts:
            return False
        self.alerts[alert_id] = list(ips)
        return True

    def enable_triggers(self, alert_id, names):
        self._call("triggers")
        self.triggers[alert_id] = tuple(names)

    def attach_notifier(self, alert_id, notifier_id):
        self._call("attach")
        self.attached[alert_id] = notifier_id

    def delete_alert(self, alert_id):
        self._call("delete")
        self.alerts.pop(alert_id, None)


@dataclass
class Saved:
    records: list[AlertRecord] = field(default_factory=list)

    def __call__(self, record: AlertRecord) -> None:
        self.records.append(record)

    @property
    def last(self) -> AlertRecord:
        return self.records[-1] if self.records else AlertRecord()


def syncer(shodan: FakeShodan, saved: Saved, url: str = URL) -> AlertSyncer:
    return AlertSyncer(api=shodan, save=saved, name="stack honeynet", webhook_url=url)


def test_the_first_sync_creates_a_notifier_an_alert_with_its_triggers_and_attaches_them():
    shodan, saved = FakeShodan(), Saved()
    record, result = syncer(shodan, saved).sync(AlertRecord(), IPS)
    assert shodan.calls == ["info", "notifier", "find", "create", "triggers", "attach"]
    assert shodan.alerts == {"A1": IPS} and shodan.triggers == {"A1": TRIGGERS} and shodan.attached == {"A1": "n1"}
    assert shodan.notifiers == {"n1": URL}
    assert result == {"status": AlertSyncStatus.CREATED, "alertId": "A1", "monitored": 3, "unmonitored": [],
                      "unmonitoredChanged": False, "limit": 16}  # fmt: skip
    assert saved.last == record and record.ips == tuple(IPS) and record.notifier_attached


def test_nothing_is_asked_of_shodan_when_the_ips_have_not_changed():
    shodan, saved = FakeShodan(), Saved()
    record, _ = syncer(shodan, saved).sync(AlertRecord(), IPS)
    shodan.calls.clear()
    record, result = syncer(shodan, saved).sync(record, [*IPS, IPS[0]])  # same, duplicated
    assert shodan.calls == [] and result["status"] == AlertSyncStatus.UNCHANGED


def test_a_rotation_edits_the_alerts_ips():
    shodan, saved = FakeShodan(), Saved()
    record, _ = syncer(shodan, saved).sync(AlertRecord(), IPS)
    shodan.calls.clear()
    moved = [IPS[0], IPS[1], "203.0.113.9"]
    record, result = syncer(shodan, saved).sync(record, moved)
    assert shodan.calls == ["edit"] and shodan.alerts == {"A1": moved}
    assert result["status"] == AlertSyncStatus.UPDATED and record.ips == tuple(moved)


def test_an_alert_removed_by_hand_is_created_again():
    shodan, saved = FakeShodan(), Saved()
    record, _ = syncer(shodan, saved).sync(AlertRecord(), IPS)
    shodan.alerts.clear()
    record, result = syncer(shodan, saved).sync(record, IPS[:2])
    assert shodan.calls[-5:] == ["edit", "find", "create", "triggers", "attach"]
    assert result["status"] == AlertSyncStatus.CREATED and record.alert_id == "A2" and shodan.alerts == {"A2": IPS[:2]}


def test_over_the_plans_limit_the_first_ips_are_watched_and_the_others_reported_once():
    shodan, saved = FakeShodan(limit=2), Saved()
    record, result = syncer(shodan, saved).sync(AlertRecord(), IPS)
    assert shodan.alerts == {"A1": IPS[:2]}
    assert (result["monitored"], result["unmonitored"], result["unmonitoredChanged"]) == (2, IPS[2:], True)
    record, again = syncer(shodan, saved).sync(record, IPS)
    assert again["status"] == AlertSyncStatus.UNCHANGED and (again["unmonitored"], again["unmonitoredChanged"]) == (
        IPS[2:],
        False,
    )
    assert shodan.calls.count("info") == 2  # asked again: more IPs than the known limit
    shodan.limit = 16  # the plan upgraded: the next sync watches them all
    record, upgraded = syncer(shodan, saved).sync(record, IPS)
    assert shodan.alerts == {"A1": IPS} and (upgraded["unmonitored"], upgraded["unmonitoredChanged"]) == ([], True)


def test_a_sync_failing_half_way_goes_on_from_what_shodan_did_without_a_second_alert():
    shodan, saved = FakeShodan(fail_on="triggers"), Saved()
    with pytest.raises(ShodanRateLimitError):
        syncer(shodan, saved).sync(AlertRecord(), IPS)
    assert saved.last.alert_id == "A1" and saved.last.triggers == ()  # saved as soon as Shodan made it
    record, result = syncer(shodan, saved).sync(saved.last, IPS)  # the state machine's retry
    assert shodan.calls == ["info", "notifier", "find", "create", "triggers", "triggers", "attach"]
    assert len(shodan.alerts) == 1 and result["status"] == AlertSyncStatus.UPDATED and record.notifier_attached


def test_an_alert_made_by_a_sync_that_died_before_saving_it_is_adopted_not_made_twice():
    shodan, saved = FakeShodan(), Saved()
    shodan.alerts["X9"], shodan.names["X9"] = ["192.0.2.9"], "someone else's alert"

    def dies_once_the_alert_exists(record: AlertRecord) -> None:
        if record.alert_id is not None:
            raise TimeoutError("Task timed out")  # Lambda stopped between Shodan's answer and the save
        saved(record)

    with pytest.raises(TimeoutError):
        AlertSyncer(api=shodan, save=dies_once_the_alert_exists, name="stack honeynet", webhook_url=URL).sync(
            AlertRecord(), IPS
        )
    assert saved.last.alert_id is None and shodan.alerts["A1"] == IPS
    shodan.calls.clear()
    record, result = syncer(shodan, saved).sync(saved.last, IPS[:2])  # the next try knows no alert
    assert shodan.calls == ["info", "find", "edit", "triggers", "attach"]
    assert shodan.alerts == {"X9": ["192.0.2.9"], "A1": IPS[:2]} and record.alert_id == "A1"
    assert result["status"] == AlertSyncStatus.CREATED and shodan.triggers == {"A1": TRIGGERS}


def test_a_new_webhook_url_gets_its_own_notifier_attached():
    shodan, saved = FakeShodan(), Saved()
    record, _ = syncer(shodan, saved).sync(AlertRecord(), IPS)
    other = "https://xyz.lambda-url.us-east-1.on.aws/"
    record, result = syncer(shodan, saved, url=other).sync(record, IPS)
    assert (
        result["status"] == AlertSyncStatus.UPDATED
        and shodan.attached == {"A1": "n2"}
        and shodan.notifiers["n2"] == other
    )


def test_no_honeypot_left_removes_the_alert():
    shodan, saved = FakeShodan(), Saved()
    record, _ = syncer(shodan, saved).sync(AlertRecord(), IPS)
    record, result = syncer(shodan, saved).sync(record, [])
    assert shodan.alerts == {} and result["status"] == AlertSyncStatus.DELETED and record.alert_id is None
    _record, nothing = syncer(shodan, saved).sync(record, [])
    assert nothing["status"] == AlertSyncStatus.UNCHANGED and shodan.calls.count("delete") == 1


def test_shodans_answers_are_read_strictly():
    assert parse_monitored_ip_limit({"usage_limits": {"monitored_ips": 16}}) == 16
    listed = [{"id": "A1", "name": "other"}, {"id": "A2", "name": "ours"}, {"id": "A3", "name": "ours"}]
    assert (alert_named(listed, "ours"), alert_named(listed, "none"), alert_named([], "ours")) == ("A2", None, None)
    for bad in ({"id": "A1"}, [["A1", "ours"]], None, [{"name": "ours"}], [{"id": 7, "name": "ours"}]):
        with pytest.raises(ShodanResponseError):
            alert_named(bad, "ours")
    for bad in ({}, {"usage_limits": {"monitored_ips": "16"}}, {"usage_limits": {"monitored_ips": -1}}, None):
        with pytest.raises(ShodanResponseError):
            parse_monitored_ip_limit(bad)
    assert answer_id({"id": "ABC"}, "alert") == "ABC"
    with pytest.raises(ShodanResponseError, match="no id"):
        answer_id({"success": True}, "notifier")
