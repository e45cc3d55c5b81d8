"""Injection strings in every StringFilter operator match literally: values go to PostgreSQL
as bound parameters (LIKE wildcards escaped), never as SQL text."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import GraphQLClient

PAYLOADS = [
    "'; DROP TABLE agents; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "%",
    "_",
    "\\",
    "%' OR slot_name LIKE '%",
    "cpu' --",
    "$1",
    "c%u",
    "c_u",
    "CPU",
]

Match = Callable[[str, str], bool]
SCALAR: dict[str, Match] = {
    "equals": lambda name, v: name == v,
    "notEquals": lambda name, v: name != v,
    "contains": lambda name, v: v in name,
    "notContains": lambda name, v: v not in name,
    "startsWith": lambda name, v: name.startswith(v),
    "notStartsWith": lambda name, v: not name.startswith(v),
    "endsWith": lambda name, v: name.endswith(v),
    "notEndsWith": lambda name, v: not name.endswith(v),
}
OPERATORS: dict[str, Match] = {
    **SCALAR,
    **{
        "i" + op[0].upper() + op[1:]: (lambda m: lambda n, v: m(n.lower(), v.lower()))(match)
        for op, match in SCALAR.items()
    },
}
LISTS: dict[str, Match] = {
    "in": lambda name, v: name in (v, "cpu"),
    "notIn": lambda name, v: name not in (v, "cpu"),
    "iIn": lambda name, v: name.lower() in (v.lower(), "cpu"),
    "iNotIn": lambda name, v: name.lower() not in (v.lower(), "cpu"),
}


async def slot_names(gql: GraphQLClient, condition: str, value: object) -> list[str]:
    kind = "[String!]" if isinstance(value, list) else "String"
    query = (
        f"query($v: {kind}) {{ resourceSlotTypes(limit: 100, filter: {{slotName: {{{condition}: $v}}}}) "
        "{ edges { node { slotName } } } }"
    )
    body = await gql.post(query, {"v": value})
    assert "errors" not in body, body
    return [e["node"]["slotName"] for e in body["data"]["resourceSlotTypes"]["edges"]]


@pytest.mark.parametrize("operator", [*OPERATORS, *LISTS])
async def test_every_operator_matches_injection_strings_literally(
    gql: GraphQLClient, operator: str
) -> None:
    body = await gql.post("{ resourceSlotTypes(limit: 100) { edges { node { slotName } } } }")
    names = [e["node"]["slotName"] for e in body["data"]["resourceSlotTypes"]["edges"]]
    assert len(names) == 14
    for payload in PAYLOADS:
        if operator in LISTS:
            expected = [n for n in names if LISTS[operator](n, payload)]
            assert await slot_names(gql, operator, [payload, "cpu"]) == expected, payload
        else:
            expected = [n for n in names if OPERATORS[operator](n, payload)]
            assert await slot_names(gql, operator, payload) == expected, payload
    # Still there, all of it.
    body = await gql.post("{ resourceSlotTypes { count } agentsV2 { count } }")
    assert body["data"]["resourceSlotTypes"]["count"] == 14
