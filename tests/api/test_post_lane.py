"""POST /graphql's ASGI lane (app.main.App): the same answers as through Starlette, byte for
byte and header for header; a client gone before its body is read gets nothing; a failure
before the answer is a 500, as Starlette's error middleware gives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from app.main import App

pytestmark = pytest.mark.usefixtures("demo_loaded")

QUERY = {"query": "{ resourceSlotTypes(first: 2) { count edges { node { slotName } } } }"}


def _requests(token: str) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(what, headers, body) of POSTs covering each kind of answer."""
    auth = {"authorization": f"Bearer {token}"}
    json = {"content-type": "application/json"}
    yield "ok", {**auth, **json, "x-request-id": "lane-1"}, orjson.dumps(QUERY)
    yield (
        "graphql-response+json and a request error",
        {**auth, **json, "x-request-id": "lane-2", "accept": "application/graphql-response+json"},
        orjson.dumps({"query": "{ nope }"}),
    )
    yield (
        "variables that do not coerce",
        {**auth, **json, "x-request-id": "lane-3"},
        orjson.dumps(
            {"query": "query Q($n: Int) { agentsV2(first: $n) { count } }", "variables": {"n": "x"}}
        ),
    )
    yield "no key", {**json}, orjson.dumps(QUERY)
    yield "a bad key", {**json, "authorization": "Bearer nope"}, orjson.dumps(QUERY)
    yield "not JSON", {**auth, **json}, b"{"
    yield "an array", {**auth, **json}, b"[]"
    yield "another content type", {**auth, "content-type": "text/plain"}, b"{}"
    yield "too large", {**auth, **json}, b" " * (2 * 1024 * 1024)
    yield (
        "repeated headers: the first counts",
        [
            ("content-type", "application/json"),
            ("authorization", f"Bearer {token}"),
            ("authorization", "Bearer nope"),
            ("x-request-id", "lane-4"),
        ],  # type: ignore[misc]
        orjson.dumps(QUERY),
    )


async def _post(app: Starlette, headers: Any, body: bytes) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        return await http.post("/graphql", headers=headers, content=body)


async def test_the_lane_answers_as_starlette_does(app: Starlette, superadmin_token: str) -> None:
    assert isinstance(app, App)
    lane = app.graphql_post
    assert lane is not None
    taken = 0

    async def counted(*args: Any) -> None:
        nonlocal taken
        taken += 1
        await lane(*args)

    app.graphql_post = counted
    try:
        through_lane = [await _post(app, h, b) for _, h, b in _requests(superadmin_token)]
    finally:
        app.graphql_post = lane
    assert taken == len(through_lane)
    app.graphql_post = None
    try:
        through_starlette = [await _post(app, h, b) for _, h, b in _requests(superadmin_token)]
    finally:
        app.graphql_post = lane
    statuses = []
    for (what, _, _), ours, theirs in zip(
        _requests(superadmin_token), through_lane, through_starlette, strict=True
    ):
        statuses.append(ours.status_code)
        assert ours.status_code == theirs.status_code, what
        assert ours.content == theirs.content, what
        if "x-request-id" in theirs.headers and not theirs.headers["x-request-id"].startswith(
            "lane-"
        ):
            # A generated request id differs from request to request.
            theirs.headers["x-request-id"] = ours.headers["x-request-id"]
        assert sorted(ours.headers.multi_items()) == sorted(theirs.headers.multi_items()), what
    # Each kind of answer is there.
    assert statuses == [200, 400, 200, 401, 401, 400, 400, 415, 413, 200]


async def test_the_lane_serves_under_a_root_path(app: Starlette, superadmin_token: str) -> None:
    transport = httpx.ASGITransport(app=app, root_path="/api")
    headers = {"authorization": f"Bearer {superadmin_token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/api/graphql", json=QUERY, headers=headers)
    assert response.json()["data"]["resourceSlotTypes"]["count"] == 14


async def _call(app: Starlette, messages: list[Message], sent: list[Message]) -> None:
    # What the lane and Starlette's 500 read of a scope, nothing more.
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"application/json")],
    }
    inbox = iter(messages)

    async def receive() -> Message:
        return next(inbox)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)


async def test_a_client_gone_before_its_body_gets_no_answer(app: Starlette) -> None:
    sent: list[Message] = []
    await _call(
        app,
        [{"type": "http.request", "body": b'{"qu', "more_body": True}, {"type": "http.disconnect"}],
        sent,
    )
    assert sent == []


async def test_a_body_in_chunks_is_read_whole(app: Starlette, superadmin_token: str) -> None:
    body = orjson.dumps(QUERY)
    transport = httpx.ASGITransport(app=app)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/graphql",
            content=chunks(),
            headers={
                "content-type": "application/json",
                "authorization": f"Bearer {superadmin_token}",
            },
        )
    assert response.json()["data"]["resourceSlotTypes"]["count"] == 14


async def test_a_failure_before_the_answer_is_a_500(app: Starlette) -> None:
    assert isinstance(app, App)

    async def broken(*_: Any) -> None:
        raise RuntimeError("broken lane")

    lane, app.graphql_post = app.graphql_post, broken
    sent: list[Message] = []
    try:
        with pytest.raises(RuntimeError, match="broken lane"):
            await _call(app, [{"type": "http.request", "body": b"{}", "more_body": False}], sent)
    finally:
        app.graphql_post = lane
    # The error goes on to the server (which logs it) after the 500 is sent.
    assert [message["type"] for message in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 500
    assert sent[1]["body"] == b"Internal Server Error"
