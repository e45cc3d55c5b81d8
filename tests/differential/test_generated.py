"""Differential over the real schema and data: hypothesis-generated operations through the
service with the fast execution path and with stock graphql-core, byte-identical answers.

Two generators: this package's `operations` (fragments, aliases, @skip/@include, variables,
interface fragments on `node`/`nodes`, arguments that name the fixture data) and
hypothesis-graphql's `queries` (every field with arbitrary argument values, so mostly the
error paths of arguments and IDs)."""

from __future__ import annotations

import uuid

import graphql
import hypothesis_graphql
import orjson
import pytest
from graphql import GraphQLNamedType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ids import encode_global_id
from app.schema import build_schema
from tests.api.cluster_fixture import K1, K2, K3, K4
from tests.differential.conftest import Differential
from tests.differential.operations import Argument, Operation, operations

pytestmark = pytest.mark.usefixtures("demo_loaded", "cluster")

SCHEMA = build_schema()

KERNELS = [K1, K2, K3, K4, uuid.UUID("00000000-0000-4000-8000-0000000000ff")]
GLOBAL_IDS = [
    encode_global_id("AgentV2", "i-fx-a"),
    encode_global_id("AgentV2", "i-node00001"),
    encode_global_id("AgentV2", "i-missing"),
    encode_global_id("KernelV2", str(K1)),
    encode_global_id("KernelV2", str(K3)),
    encode_global_id("AgentResourceSlot", "i-fx-a:cuda.device"),
    encode_global_id("KernelResourceAllocation", f"{K1}:mem"),
    encode_global_id("ResourceSlotType", "cpu"),
    encode_global_id("ResourceSlotType", "no.such"),
    "not-a-global-id",
]


def _literal(value: str) -> str:
    # A JSON string is a valid GraphQL string literal.
    return orjson.dumps(value).decode()


def _id(value: str) -> Argument:
    return Argument("id", "ID!", _literal(value), value)


PAGES: list[list[Argument]] = [
    [],
    [Argument("first", "Int", "1", 1)],
    [Argument("first", "Int", "2", 2)],
    [Argument("first", "Int", "3", 3)],
    [Argument("last", "Int", "2", 2)],
    [Argument("limit", "Int", "2", 2), Argument("offset", "Int", "1", 1)],
    [Argument("first", "Int", "0", 0)],  # refused: an error at this field's path
]
FILTERS: dict[str, list[Argument]] = {
    "agentsV2": [
        Argument(
            "filter", "AgentFilter", '{id: {startsWith: "i-fx"}}', {"id": {"startsWith": "i-fx"}}
        ),
        Argument(
            "orderBy",
            "[AgentOrderBy!]",
            "[{field: STATUS, direction: DESC}]",
            [{"field": "STATUS", "direction": "DESC"}],
        ),
    ],
    "adminKernelsV2": [
        Argument(
            "filter",
            "KernelV2Filter",
            "{status: {in: [RUNNING, PENDING]}}",
            {"status": {"in": ["RUNNING", "PENDING"]}},
        ),
    ],
    "kernels": [
        Argument(
            "filter",
            "KernelV2Filter",
            "{status: {notIn: [CANCELLED]}}",
            {"status": {"notIn": ["CANCELLED"]}},
        ),
    ],
}


def real_arguments(parent: GraphQLNamedType, name: str) -> st.SearchStrategy[list[Argument]]:
    if parent.name == "Query" and name == "node":
        return st.sampled_from(GLOBAL_IDS).map(lambda value: [_id(value)])
    if parent.name == "Query" and name == "nodes":
        return st.lists(st.sampled_from(GLOBAL_IDS[:-1]), max_size=4).map(
            lambda ids: [Argument("ids", "[ID!]!", "[" + ", ".join(map(_literal, ids)) + "]", ids)]
        )
    if parent.name == "Query" and name == "kernelV2":
        return st.sampled_from(KERNELS).map(
            lambda k: [Argument("id", "UUID!", _literal(str(k)), str(k))]
        )
    if parent.name == "Query" and name == "resourceSlotType":
        return st.sampled_from(["cpu", "cuda.device", "no.such"]).map(
            lambda slot: [Argument("slotName", "String!", _literal(slot), slot)]
        )
    # Every other field with arguments is a connection.
    choices = FILTERS.get(name, [])
    extra = (
        st.lists(st.sampled_from(choices), unique_by=lambda a: a.name, max_size=2)
        if choices
        else st.just([])
    )
    return st.tuples(st.sampled_from(PAGES), extra).map(lambda pair: pair[0] + pair[1])


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operation=operations(SCHEMA, real_arguments, max_depth=4))
async def test_generated_operations(differential: Differential, operation: Operation) -> None:
    # Generated documents may exceed the query limits; both apps must then refuse them alike.
    await differential.compare(operation.query, operation.variables)


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


CUSTOM_SCALARS = {
    "UUID": st.sampled_from(KERNELS).map(lambda k: _string(str(k))),
    "Decimal": st.sampled_from(["0", "1.5", "68719476736"]).map(_string),
    "DateTime": st.just(_string("2026-03-02T00:00:00+00:00")),
    "JSON": st.just(_string("{}")),
}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=hypothesis_graphql.queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, allow_x00=False))
async def test_hypothesis_graphql_queries(differential: Differential, query: str) -> None:
    await differential.compare(query)
