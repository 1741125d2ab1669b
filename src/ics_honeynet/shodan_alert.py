"""One Shodan network alert whose IPs are exactly the honeynet's (pure; the Shodan calls and the
record's store are passed in).

After every sweep (and so after every rotation) SyncShodanAlert brings the alert up to date:
Shodan Monitor then watches every honeypot IP and pushes a notification to the webhook
(monitor_push.py) when it finds something new on one. What it takes, through the ``shodan``
client (1.31.0: ``notifier.create``, ``create_alert``, ``edit_alert``, ``enable_alert_trigger``,
``add_alert_notifier``, ``delete_alert``, ``info``):

- a webhook notifier for the stack's webhook URL (``POST /notifier``, provider ``webhook``), made
  once per URL;
- the alert (``POST /shodan/alert``: name, ``filters.ip``, ``expires`` 0 = never), its IPs edited
  when the honeynet's change (``POST /shodan/alert/{id}``), its triggers enabled
  (``PUT /shodan/alert/{id}/trigger/new_service,industrial_control_system``) and the notifier
  attached (``PUT /shodan/alert/{id}/notifier/{nid}``);
- the plan's monitored-IP limit (``GET /api-info``, ``usage_limits.monitored_ips``), asked only
  when the alert is created or would watch more IPs than the last limit allowed. Over the limit
  the first IPs are watched (the stack's tasks, oldest first, then extra IPs) and the others are
  reported: the scheduled sweep still checks them.

Nothing is asked of Shodan when the IPs have not changed. Each step is saved (``save``) as soon
as Shodan has done it, so a sync that fails half-way (a 429, Shodan down) and is retried goes
on from there instead of creating a second alert.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ics_honeynet.contracts import AlertSync, AlertSyncStatus
from ics_honeynet.exposure import ShodanResponseError

# new_service: any service Shodan had not seen on the IP (the honeypot being indexed);
# industrial_control_system: an ICS protocol found (the honeypot's own).
TRIGGERS = ("new_service", "industrial_control_system")


@dataclass(frozen=True)
class AlertRecord:
    """What is known of the alert (the push table's ``alert`` item)."""

    alert_id: str | None = None
    notifier_id: str | None = None
    webhook_url: str | None = None
    ips: tuple[str, ...] = ()  # the IPs the alert watches
    limit: int | None = None  # the plan's monitored-IP limit when last asked
    unmonitored: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()  # enabled on this alert
    notifier_attached: bool = False


class AlertApi(Protocol):
    """The Shodan calls a sync makes (shodan_client.ShodanClient); typed errors as exposure.py's."""

    def monitored_ip_limit(self) -> int: ...

    def create_webhook_notifier(self, url: str, description: str) -> str: ...

    def create_alert(self, name: str, ips: Sequence[str]) -> str: ...

    def find_alert(self, name: str) -> str | None:
        """The id of an alert named ``name`` (``GET /shodan/alert/info``), None when there is none."""

    def edit_alert(self, alert_id: str, ips: Sequence[str]) -> bool:
        """False: Shodan has no such alert (deleted by hand): it is created again."""

    def enable_triggers(self, alert_id: str, names: Sequence[str]) -> None: ...

    def attach_notifier(self, alert_id: str, notifier_id: str) -> None: ...

    def delete_alert(self, alert_id: str) -> None: ...


def parse_monitored_ip_limit(info: Any) -> int:
    """``GET /api-info``'s ``usage_limits.monitored_ips``: how many IPs the plan's alerts may watch."""
    limits = info.get("usage_limits") if isinstance(info, dict) else None
    limit = limits.get("monitored_ips") if isinstance(limits, dict) else None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ShodanResponseError("Shodan's api-info has no usage_limits.monitored_ips")
    return limit


def alert_named(answer: Any, name: str) -> str | None:
    """``GET /shodan/alert/info``'s list of alerts: the id of the first one named ``name``."""
    if not isinstance(answer, list) or not all(isinstance(alert, dict) for alert in answer):
        raise ShodanResponseError("Shodan's list of alerts is not a list of alerts")
    for alert in answer:
        if alert.get("name") == name:
            return answer_id(alert, "alert")
    return None


def answer_id(answer: Any, what: str) -> str:
    """The ``id`` of what Shodan created (an alert, a notifier)."""
    created = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(created, str) or not created or len(created) > 64:
        raise ShodanResponseError(f"Shodan created the {what} but answered no id")
    return created


def _unique(ips: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ips))


@dataclass
class AlertSyncer:
    api: AlertApi
    save: Callable[[AlertRecord], None]
    name: str  # the alert's name in Shodan Monitor (the stack's)
    webhook_url: str

    def sync(self, record: AlertRecord, honeynet_ips: Sequence[str]) -> tuple[AlertRecord, AlertSync]:
        wanted = _unique(honeynet_ips)
        if not wanted:
            return self._remove(record)
        limit = record.limit
        if record.alert_id is None or limit is None or len(wanted) > limit:
            limit = self.api.monitored_ip_limit()
        monitored, unmonitored = tuple(wanted[:limit]), tuple(wanted[limit:])
        complete = record.triggers == TRIGGERS and record.notifier_attached and record.webhook_url == self.webhook_url
        if record.alert_id is not None and record.ips == monitored and complete:
            status = AlertSyncStatus.UNCHANGED
        else:
            status = AlertSyncStatus.CREATED if record.alert_id is None else AlertSyncStatus.UPDATED
        current = replace(record, limit=limit)
        if status != AlertSyncStatus.UNCHANGED:
            current = self._bring_up_to_date(current, monitored)
            if current.alert_id != record.alert_id:
                status = AlertSyncStatus.CREATED
        changed = current.unmonitored != unmonitored
        current = replace(current, unmonitored=unmonitored)
        self.save(current)
        return current, {
            "status": status,
            "alertId": current.alert_id,
            "monitored": len(monitored),
            "unmonitored": list(unmonitored),
            "unmonitoredChanged": changed,
            "limit": limit,
        }

    def _step(self, record: AlertRecord, **changes: object) -> AlertRecord:
        record = replace(record, **changes)  # type: ignore[arg-type]
        self.save(record)
        return record

    def _bring_up_to_date(self, record: AlertRecord, monitored: tuple[str, ...]) -> AlertRecord:
        if record.notifier_id is None or record.webhook_url != self.webhook_url:
            created = self.api.create_webhook_notifier(self.webhook_url, f"{self.name}: the honeynet's webhook")
            record = self._step(record, notifier_id=created, webhook_url=self.webhook_url, notifier_attached=False)
        edit = record.alert_id is not None and record.ips != monitored
        if edit and record.alert_id is not None and not self.api.edit_alert(record.alert_id, monitored):
            record = self._step(record, alert_id=None, ips=(), triggers=(), notifier_attached=False)
        if record.alert_id is None:
            # A sync that died after Shodan created the alert but before the record was saved left
            # it under the stack's name: adopt it (its IPs set anew) rather than make a second one.
            found = self.api.find_alert(self.name)
            if found is None or not self.api.edit_alert(found, monitored):
                found = self.api.create_alert(self.name, monitored)
            record = self._step(record, alert_id=found, triggers=(), notifier_attached=False)
        record = self._step(record, ips=monitored)
        alert, notifier = record.alert_id, record.notifier_id
        assert alert is not None and notifier is not None
        if record.triggers != TRIGGERS:
            self.api.enable_triggers(alert, TRIGGERS)
            record = self._step(record, triggers=TRIGGERS)
        if not record.notifier_attached:
            self.api.attach_notifier(alert, notifier)
            record = self._step(record, notifier_attached=True)
        return record

    def _remove(self, record: AlertRecord) -> tuple[AlertRecord, AlertSync]:
        """No honeypot IP: an alert on IPs AWS may have given to someone else is removed."""
        if record.alert_id is None:
            return record, {"status": AlertSyncStatus.UNCHANGED, "alertId": None, "monitored": 0, "unmonitored": []}
        self.api.delete_alert(record.alert_id)
        current = self._step(record, alert_id=None, ips=(), triggers=(), notifier_attached=False, unmonitored=())
        return current, {"status": AlertSyncStatus.DELETED, "alertId": None, "monitored": 0, "unmonitored": []}
