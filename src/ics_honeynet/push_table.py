"""The push table (DynamoDB): what Shodan Monitor's push remembers, one item per key ``pk``.

- ``alert``: the Shodan alert kept in sync with the honeynet (its id, the IPs it monitors, the
  webhook notifier's id), written by the alert sync, read by the webhook (``monitored_ips``);
- ``seen#<sha256 of a body>``: a notification received (replays are refused);
- ``sweep#<ip>#<window>`` / ``sweep#*#<window>``: the window's sweep of an IP / of every IP;
- ``window#<window>``: how many targeted sweeps the window started (``started``).

Every item but ``alert`` carries ``expiresAt`` (epoch seconds), the table's TTL attribute.
DynamoDB deletes expired items only eventually ("Time to Live": typically within a few days),
so each conditional write also treats an item whose ``expiresAt`` has passed as absent. Each
write is one conditional PutItem/UpdateItem: DynamoDB evaluates the condition against the item
as it is at that moment and applies the write atomically ("Condition expressions"), so of two
webhooks racing for one claim exactly one wins.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.monitor_push import PushUnavailableError
from ics_honeynet.shodan_alert import AlertRecord

ALERT_ITEM = "alert"
ALL_IPS = "*"
# AlertRecord's fields <-> the alert item's attributes.
ALERT_ATTRIBUTES = {
    "alert_id": "alertId",
    "notifier_id": "notifierId",
    "webhook_url": "webhookUrl",
    "ips": "ips",
    "limit": "monitoredIpLimit",
    "unmonitored": "unmonitored",
    "triggers": "triggers",
    "notifier_attached": "notifierAttached",
}
_to_dynamo, _from_dynamo = TypeSerializer(), TypeDeserializer()


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


class DynamoPushStore:
    """``monitor_push.PushStore`` on a boto3 DynamoDB client and the push table's name."""

    def __init__(self, client: Any, table: str) -> None:
        self._client, self._table = client, table

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(TableName=self._table, **kwargs)
        except self._client.exceptions.ConditionalCheckFailedException:
            raise
        except (ClientError, BotoCoreError) as error:
            raise PushUnavailableError(f"the push table did not answer ({type(error).__name__})") from None

    def _claim(self, pk: str, now: datetime, until: datetime) -> bool:
        try:
            self._call(
                "put_item",
                Item={"pk": {"S": pk}, "expiresAt": {"N": _epoch(until)}},
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": _epoch(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _delete(self, pk: str) -> None:
        self._call("delete_item", Key={"pk": {"S": pk}})

    def read_alert(self) -> AlertRecord:
        """The alert as last synced (an empty record before the first sync)."""
        item = self._call("get_item", Key={"pk": {"S": ALERT_ITEM}}, ConsistentRead=True).get("Item") or {}
        plain = {k: _from_dynamo.deserialize(v) for k, v in item.items()}
        values: dict[str, Any] = {field: plain.get(attribute) for field, attribute in ALERT_ATTRIBUTES.items()}
        for listed in ("ips", "unmonitored", "triggers"):
            values[listed] = tuple(values[listed] or ())
        values["limit"] = None if values["limit"] is None else int(values["limit"])
        values["notifier_attached"] = bool(values["notifier_attached"])
        return AlertRecord(**values)

    def write_alert(self, record: AlertRecord, synced_at: str) -> None:
        values = {ALERT_ATTRIBUTES[k]: list(v) if isinstance(v, tuple) else v for k, v in asdict(record).items()}
        item = {k: _to_dynamo.serialize(v) for k, v in {**values, "pk": ALERT_ITEM, "syncedAt": synced_at}.items()}
        self._call("put_item", Item=item)

    def monitored_ips(self) -> frozenset[str] | None:
        item = self._call("get_item", Key={"pk": {"S": ALERT_ITEM}}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        return frozenset(value["S"] for value in item.get("ips", {}).get("L", []))

    def remember(self, digest: str, now: datetime, until: datetime) -> bool:
        return self._claim(f"seen#{digest}", now, until)

    def forget(self, digest: str) -> None:
        self._delete(f"seen#{digest}")

    def claim_sweep(self, ip: str | None, window: int, now: datetime, until: datetime) -> bool:
        return self._claim(f"sweep#{ip or ALL_IPS}#{window}", now, until)

    def release_sweep(self, ip: str | None, window: int) -> None:
        self._delete(f"sweep#{ip or ALL_IPS}#{window}")

    def take_targeted_slot(self, window: int, cap: int, until: datetime) -> bool:
        try:
            self._call(
                "update_item",
                Key={"pk": {"S": f"window#{window}"}},
                UpdateExpression="ADD started :one SET expiresAt = :until",
                ConditionExpression="attribute_not_exists(started) OR started < :cap",
                ExpressionAttributeValues={":one": {"N": "1"}, ":cap": {"N": str(cap)}, ":until": {"N": _epoch(until)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
