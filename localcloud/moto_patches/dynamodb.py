"""DynamoDB.

- ``conditional writes``: DynamoDB applies each write to an item atomically, its condition
  evaluated against the item as it is then ("Condition expressions"; "Atomic counters"); moto's
  backend evaluates and writes without a lock, so two concurrent conditional writes can both
  succeed (the Shodan pace would give one slot to two checks). We serialise moto's item writes.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from localcloud.moto_patches.base import patch_attr


def atomic_item_writes() -> contextlib.AbstractContextManager[Any]:
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    stack = contextlib.ExitStack()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def serialised(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        stack.enter_context(patch_attr(DynamoDBBackend, name, serialised))
    return stack
