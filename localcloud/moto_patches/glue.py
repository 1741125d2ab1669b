"""Glue.

- ``AWS::Glue::Database`` and ``AWS::Glue::Table`` in CloudFormation: moto's CloudFormation has
  neither. We create them through moto's Glue backend with the template's ``DatabaseInput`` and
  ``TableInput`` (the API's shapes), so Athena's view of the research data (columns, SerDe,
  partition projection and its ``storage.location.template``) can be read back and checked.
"""

from __future__ import annotations

from typing import Any

from localcloud.moto_patches.base import CreatedResource

DATABASE_TYPE = "AWS::Glue::Database"
TABLE_TYPE = "AWS::Glue::Table"


class DatabaseResource(CreatedResource):
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_kw: Any
    ) -> DatabaseResource:
        from moto.glue.models import glue_backends

        database_input = dict(cloudformation_json["Properties"]["DatabaseInput"])
        # Glue keeps names in lower case (Glue developer guide, "Names in AWS Glue").
        name = str(database_input.get("Name") or resource_name).lower()
        database_input["Name"] = name
        glue_backends[account_id][region_name].create_database(name, database_input)
        return cls(name)


class TableResource(CreatedResource):
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_kw: Any
    ) -> TableResource:
        from moto.glue.models import glue_backends

        props = cloudformation_json["Properties"]
        table_input = dict(props["TableInput"])
        name = str(table_input.get("Name") or resource_name).lower()
        table_input["Name"] = name
        glue_backends[account_id][region_name].create_table(str(props["DatabaseName"]).lower(), name, table_input)
        return cls(name)


MODELS: dict[str, Any] = {DATABASE_TYPE: DatabaseResource, TABLE_TYPE: TableResource}
