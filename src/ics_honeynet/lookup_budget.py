"""A monthly budget of lookups for an engine whose plan counts credits (Censys): one conditional
counter per calendar month (UTC), shared by every invocation and container.

Each lookup spends one unit *before* its request, with a single conditional ``UpdateItem`` on
the month's item in the pace table (``{"pacer": "<name> <YYYY-MM>", "used": n}``):
``ADD used :one`` only if ``attribute_not_exists(used) OR used < :limit``. DynamoDB evaluates the
condition and applies the write atomically (Developer Guide: "Condition expressions", "Atomic
counters"), so concurrent checks never spend past the limit; a refused write changes nothing and
means the month's budget is spent. Every request spends, retries included: whether Censys charges
a credit for an answer it refused (429, 5xx) is not documented, and counting them keeps us within
the plan whatever it does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ics_honeynet.pacing import PacerUnavailableError


class MonthlyBudget:
    def __init__(self, client: Any, table: str, name: str, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"a monthly budget cannot be negative, not {limit}")
        self._client, self._table, self._name, self.limit = client, table, name, limit

    def item_name(self, now: datetime) -> str:
        return f"{self._name} {now:%Y-%m}"

    def spend_one(self, now: datetime) -> bool:
        """Spend one lookup of ``now``'s month; False when the month's budget is spent."""
        if self.limit == 0:
            return False
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pacer": {"S": self.item_name(now)}},
                UpdateExpression="ADD used :one",
                ConditionExpression="attribute_not_exists(used) OR used < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(self.limit)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        except (ClientError, BotoCoreError) as error:  # after boto3's retries: the state machine retries
            raise PacerUnavailableError(f"the lookup budget ({self._name}) did not answer: {error}") from None
        return True
