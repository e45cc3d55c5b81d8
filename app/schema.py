"""The executable schema: the SDL files in schema/ plus every bindable, in one list."""

from __future__ import annotations

from pathlib import Path

from ariadne import load_schema_from_path, make_executable_schema
from ariadne.types import SchemaBindable
from graphql import GraphQLSchema, lexicographic_sort_schema, print_schema

from app.resolvers.agent import agent, agent_system_info
from app.resolvers.kernel import kernel
from app.resolvers.node import node
from app.resolvers.query import query
from app.resolvers.resource_slot_type import resource_slot_type
from app.resolvers.scalars import datetime_scalar, decimal_scalar, json_scalar, uuid_scalar
from app.resolvers.slots import agent_resource_slot, kernel_resource_allocation

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"
# The whole schema, printed sorted and committed, so every change shows up in review.
SCHEMA_LOCK = SCHEMA_DIR.parent / "schema.lock.graphql"

BINDABLES: list[SchemaBindable] = [
    query,
    node,
    resource_slot_type,
    agent,
    agent_system_info,
    agent_resource_slot,
    kernel,
    kernel_resource_allocation,
    decimal_scalar,
    uuid_scalar,
    datetime_scalar,
    json_scalar,
]


def type_defs() -> str:
    return load_schema_from_path(str(SCHEMA_DIR))


def build_schema() -> GraphQLSchema:
    return make_executable_schema(type_defs(), *BINDABLES, convert_names_case=True)


def printed_schema() -> str:
    return print_schema(lexicographic_sort_schema(build_schema())) + "\n"
