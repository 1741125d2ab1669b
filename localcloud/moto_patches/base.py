"""What every moto patch shares: the pinned version and a patch that fails loudly."""

from __future__ import annotations

import contextlib
from typing import Any

import moto

EXPECTED_MOTO_VERSION = "5.2.5"


class MotoVersionMismatch(RuntimeError):
    pass


def check_moto_version() -> None:
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        raise MotoVersionMismatch(
            f"the local cloud patches moto {EXPECTED_MOTO_VERSION} internals but moto {moto.__version__} "
            "is installed; run the adapter canary tests and update localcloud/moto_patches before pinning it."
        )


def patch_attr(owner: Any, name: str, value: Any) -> contextlib.AbstractContextManager[Any]:
    from unittest import mock

    if not hasattr(owner, name):
        raise MotoVersionMismatch(f"moto internals changed: {owner!r} has no attribute {name!r}")
    return mock.patch.object(owner, name, value)
