"""Transport: health, readiness, the playground and its assets, content types. (Body cap,
masking and the other limits: tests/security.)"""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

INVALID = "api_generic_invalid-parameters"


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


async def test_playground_page_loads_local_assets_with_integrity(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "GraphiQL.createFetcher" in html
    assert "resourceSlotTypes(limit: 100" in html  # the saved example operation
    sources = re.findall(r'(?:src|href)="([^"]+)" integrity="(sha384-[^"]+)"', html)
    assert {src.rsplit("/", 1)[1] for src, _ in sources} == {
        "graphiql.min.css",
        "graphiql.min.js",
        "react.production.min.js",
        "react-dom.production.min.js",
    }
    for src, integrity in sources:
        # Served by the service itself, never a CDN, and byte-identical to the pinned hash.
        assert src.startswith("http://testserver/playground-assets/")
        asset = await client.get(src)
        assert asset.status_code == 200
        digest = base64.b64encode(hashlib.sha384(asset.content).digest()).decode()
        assert integrity == f"sha384-{digest}"


async def test_get_runs_queries_from_the_query_string(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q($n: Int) { resourceSlotTypes(first: $n) { count } }",
            "variables": '{"n": 1}',
        },
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"resourceSlotTypes": {"count": 14}}}


async def test_get_without_query_or_html_is_a_400_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "application/json"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": "GET /graphql needs a `query` parameter (queries only); send mutations and "
                "larger documents as a POST with Content-Type: application/json.",
                "extensions": {"code": INVALID},
            }
        ]
    }


async def test_get_with_bad_variables_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }", "variables": "{"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The `variables` parameter is not valid JSON."


async def test_other_methods_get_an_envelope_and_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["errors"][0]["message"] == (
        "PUT is not supported on /graphql; use POST (or GET for queries)."
    )


async def test_head_is_answered_like_get(client: httpx.AsyncClient) -> None:
    response = await client.head("/graphql", params={"query": "{ __typename }"})
    assert response.status_code == 200


async def test_empty_get_query_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": " "})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == (
        "The `query` parameter is empty; pass a GraphQL query document."
    )


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),
        ("text/plain", "'text/plain'"),
    ],
)
async def test_post_takes_json_only(
    client: httpx.AsyncClient, content_type: str, shown: str
) -> None:
    response = await client.post(
        "/graphql", content=b"query={__typename}", headers={"content-type": content_type}
    )
    assert response.status_code == 415
    assert response.json() == {
        "errors": [
            {
                "message": f"POST /graphql takes Content-Type: application/json, got {shown}.",
                "extensions": {"code": INVALID},
            }
        ]
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "The request body is not valid JSON."),
        (
            b'[{"query": "{ __typename }"}]',
            "The request body must be one JSON object with `query` (batched arrays are not supported).",
        ),
        (
            b'"just a string"',
            "The request body must be one JSON object with `query` (batched arrays are not supported).",
        ),
    ],
)
async def test_post_body_must_be_one_json_object(
    client: httpx.AsyncClient, body: bytes, message: str
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": message, "extensions": {"code": INVALID}}]}


async def test_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "abc"}
    )
    assert response.headers["x-request-id"] == "abc"
    response = await client.post("/graphql", json={"query": "{ __typename }"})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    # Anything but a plain token is replaced: it would end up in the logs as given.
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "a b\tc=" + "x" * 80}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
