"""What every moto patch shares: the pinned version, a patch that fails loudly, and finishing a
resource moto's CloudFormation created with less than its template said."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import moto

EXPECTED_MOTO_VERSION = "5.2.5"


class MotoVersionMismatch(RuntimeError):
    pass


class CreateFailed(RuntimeError):
    """A resource CloudFormation would fail to create (AWS's reason in the message); the stack
    rolls back."""


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


# (the resource moto created, its template Properties, the account id)
Finish = Callable[[Any, dict[str, Any], str], None]


def after_cloudformation_create(model: Any, finish: Finish) -> contextlib.AbstractContextManager[Any]:
    """Patch ``model.create_from_cloudformation_json`` to call ``finish`` on what moto created."""
    create = model.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        resource = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        finish(resource, cloudformation_json["Properties"], account_id)
        return resource

    return patch_attr(model, "create_from_cloudformation_json", classmethod(create_from_cloudformation_json))


def cloudformation_models(models: dict[str, Any]) -> contextlib.AbstractContextManager[Any]:
    """moto's CloudFormation creates ``models`` (resource type -> a class with
    ``create_from_cloudformation_json``) besides its own."""
    from moto.cloudformation import parsing

    original = parsing.resource_class_from_type

    def resource_class_from_type(resource_type: str) -> Any:
        return models.get(resource_type) or original(resource_type)

    return patch_attr(parsing, "resource_class_from_type", resource_class_from_type)


class CreatedResource:
    """What moto's CloudFormation keeps for a resource a patch created: its physical id (``Ref``)
    and its ``Fn::GetAtt`` attributes."""

    def __init__(self, physical_id: str, **attributes: str) -> None:
        self.physical_id = physical_id
        self.attributes = attributes

    @property
    def physical_resource_id(self) -> str:
        return self.physical_id

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, attribute: str) -> str:
        if attribute not in self.attributes:
            raise CreateFailed(f"the local cloud gives no Fn::GetAtt {attribute} for {self.physical_id}")
        return self.attributes[attribute]
