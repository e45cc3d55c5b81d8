"""Transport limits: body cap, content types (no CSRF through simple forms), GET never
mutates, malformed and deeply nested JSON, the request timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.security.conftest import Client

INVALID = "api_generic_invalid-parameters"
UNAVAILABLE = "api_generic_service-unavailable"
MIB = 1024 * 1024


def body_of(size: int) -> bytes:
    head, tail = b'{"query": "{ __typename }"', b"}"
    return head + b" " * (size - len(head) - len(tail)) + tail


async def test_body_cap_at_one_mib(client: httpx.AsyncClient) -> None:
    headers = {"content-type": "application/json"}
    response = await client.post("/graphql", content=body_of(MIB), headers=headers)
    assert response.json() == {"data": {"__typename": "Query"}}
    response = await client.post("/graphql", content=body_of(MIB + 1), headers=headers)
    assert response.status_code == 413
    assert response.json() == {
        "errors": [
            {
                "message": "The request body exceeds 1048576 bytes (max body bytes); send a "
                "smaller one.",
                "extensions": {"code": INVALID},
            }
        ]
    }


async def test_chunked_bodies_are_capped_at_the_same_size(client: httpx.AsyncClient) -> None:
    async def chunks(size: int) -> AsyncIterator[bytes]:
        body = body_of(size)
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    headers = {"content-type": "application/json"}
    response = await client.post("/graphql", content=chunks(MIB), headers=headers)
    assert response.status_code == 200
    response = await client.post("/graphql", content=chunks(MIB + 1), headers=headers)
    assert response.status_code == 413


async def test_body_cap_is_a_setting(client_with: Client) -> None:
    async with client_with(max_body_bytes=100) as http:
        headers = {"content-type": "application/json"}
        assert (
            await http.post("/graphql", content=body_of(100), headers=headers)
        ).status_code == 200
        response = await http.post("/graphql", content=body_of(101), headers=headers)
        assert response.status_code == 413
        assert "exceeds 100 bytes" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        # The three a cross-site HTML form can send without a CORS preflight.
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "text/plain",
        None,
        "application/graphql",
    ],
)
async def test_only_json_posts_run(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        "/graphql", content=b'{"query": "{ __typename }"}', headers=headers
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"] == {"code": INVALID}


async def test_get_never_runs_a_mutation(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"] == {"code": INVALID}
    # Also not when it hides behind a query of the same document.
    response = await client.get(
        "/graphql",
        params={
            "query": "query Q { __typename } mutation M { __typename }",
            "operationName": "M",
        },
    )
    assert "data" not in response.json() or response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"] == {"code": INVALID}


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b"\xff\xfe{}",
        b"",
        b'{"query": "{ __typename }"',
        b"[]",
        b"null",
    ],
)
async def test_malformed_or_deeply_nested_json_is_a_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": INVALID}


@pytest.mark.parametrize(
    "payload",
    [
        {"query": 1},
        {"query": ["{ __typename }"]},
        {"query": "{ __typename }", "variables": []},
        {"query": "{ __typename }", "operationName": 5},
        {"query": "{ __typename }", "variables": "{}"},
        {},
    ],
)
async def test_wrong_shapes_are_a_400(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    response = await client.post(
        "/graphql", json=payload, headers={"accept": "application/graphql-response+json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": INVALID}


async def blocked_backends(admin: asyncpg.Connection) -> int:
    """The app's connections waiting for a lock. (A statement blocked while it is prepared
    shows as `idle` with its previous query, so its wait event is what tells.)"""
    count: int = await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slotgraph' "
        "AND wait_event_type = 'Lock'"
    )
    return count


@pytest.mark.usefixtures("demo_loaded")
async def test_request_timeout_answers_and_cancels_the_statement(
    client_with: Client, database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        async with client_with(request_timeout_ms=1500, statement_timeout_ms=60_000) as http:
            locker = admin.transaction()
            await locker.start()
            # The app's statement waits for this lock until the request runs out of time.
            await admin.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
            try:
                request = asyncio.create_task(
                    http.post("/graphql", json={"query": "{ agentsV2(first: 1) { count } }"})
                )
                # The statement is seen waiting first (so the check below can fail) ...
                for _ in range(100):
                    if await blocked_backends(admin) or request.done():
                        break
                    await asyncio.sleep(0.02)
                assert await blocked_backends(admin) == 1
                response = await asyncio.wait_for(request, timeout=30)
                assert response.status_code == 503
                assert response.json() == {
                    "errors": [
                        {
                            "message": "The request took longer than 1500 ms (request timeout) "
                            "and was cancelled; retry it, or ask for less (smaller pages, fewer "
                            "nested connections).",
                            "extensions": {"code": UNAVAILABLE},
                        }
                    ]
                }
                # ... and then cancelled on the server too, while the lock is still held.
                for _ in range(100):
                    if await blocked_backends(admin) == 0:
                        break
                    await asyncio.sleep(0.1)
                assert await blocked_backends(admin) == 0
            finally:
                await locker.rollback()
            after = await http.post("/graphql", json={"query": "{ agentsV2(first: 1) { count } }"})
            assert after.json()["data"]["agentsV2"]["count"] > 0
    finally:
        await admin.close()
