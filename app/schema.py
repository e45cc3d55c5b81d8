"""The executable schema: the SDL files in schema/ plus every bindable, in one list."""

from __future__ import annotations

from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema
from ariadne.types import SchemaBindable
from graphql import GraphQLSchema

from app.resolvers.node import node
from app.resolvers.query import query
from app.resolvers.resource_slot_type import resource_slot_type
from app.resolvers.scalars import datetime_scalar, decimal_scalar, json_scalar, uuid_scalar

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"

BINDABLES: list[SchemaBindable] = [
    query,
    node,
    resource_slot_type,
    decimal_scalar,
    uuid_scalar,
    datetime_scalar,
    json_scalar,
]


def type_defs() -> str:
    return load_schema_from_path(str(SCHEMA_DIR))


def build_schema() -> GraphQLSchema:
    return make_executable_schema(type_defs(), *BINDABLES, convert_names_case=True)
