"""The playground's saved examples: one per root field, valid against the schema, runnable
without errors, pointing at objects the local demo really has; and the page carries its
default request headers to GraphiQL intact. (tests/browser runs them in a real browser.)"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse, validate

from app import demo
from app.cli import DEMO_AGENTS, DEMO_KERNELS
from app.playground import DEMO_KERNEL_ID, EXAMPLES, Playground
from app.schema import build_schema


def test_there_is_one_example_per_root_field() -> None:
    schema = build_schema()
    assert schema.query_type is not None
    assert sorted(e.root_field for e in EXAMPLES) == sorted(schema.query_type.fields)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.root_field)
def test_each_example_is_one_valid_operation_on_its_root_field(example: Any) -> None:
    document = parse(example.query)
    assert validate(build_schema(), document) == []
    (operation,) = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert operation.name is not None  # names the tab
    assert [s.name.value for s in operation.selection_set.selections] == [example.root_field]  # type: ignore[attr-defined]


def test_the_examples_point_at_objects_of_the_make_run_demo() -> None:
    data = demo.generate(DEMO_AGENTS, DEMO_KERNELS, seed=0)
    assert str(data.kernels[0][0]) == DEMO_KERNEL_ID
    agents = {row[0] for row in data.agents}
    slots = {(row[0], row[1]) for row in data.agent_resources}
    by_field = {e.root_field: e for e in EXAMPLES}
    node_vars, nodes_vars = by_field["node"].variables, by_field["nodes"].variables
    assert node_vars is not None
    assert nodes_vars is not None
    ids = nodes_vars["ids"]
    assert isinstance(ids, list)
    raw_ids = [base64.b64decode(i).decode().split(":", 1) for i in [node_vars["id"], *ids]]
    for type_name, raw in raw_ids:
        if type_name == "AgentV2":
            assert raw in agents
        elif type_name == "AgentResourceSlot":
            assert tuple(raw.split(":", 1)) in slots
        else:
            assert type_name == "ResourceSlotType"


@pytest.mark.usefixtures("demo_loaded")
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.root_field)
async def test_each_example_runs_without_errors(client: httpx.AsyncClient, example: Any) -> None:
    response = await client.post(
        "/graphql", json={"query": example.query, "variables": example.variables}
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert example.root_field in body["data"]


def _config(page: str) -> dict[str, Any]:
    match = re.search(r"var config = (.*);\n", page)
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def test_the_page_renders_default_headers_and_one_tab_per_example() -> None:
    playground = Playground.load()
    headers = {"Authorization": "Bearer sg_x", "X-Note": "</script><script>alert(1)</script>"}
    page = playground.page(asset_prefix="/assets", endpoint="/graphql", headers=headers)
    # A header value cannot close the script element it sits in.
    assert "</script><script>alert(1)" not in page
    config = _config(page)
    assert config["headers"] == headers
    assert config["endpoint"] == "/graphql"
    assert [tab["query"] for tab in config["tabs"]] == [e.query for e in EXAMPLES]
    assert [json.loads(tab.get("variables", "null")) for tab in config["tabs"]] == [
        e.variables for e in EXAMPLES
    ]
    assert _config(playground.page(asset_prefix="/assets", endpoint="/graphql"))["headers"] == {}
