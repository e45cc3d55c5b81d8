"""The GraphQL HTTP endpoint: transport rules in front of Ariadne's executor.

POST takes `application/json` only; GET runs queries from the query string (never
mutations) or, for a browser asking for HTML, serves the playground. The body is capped.
Every answer is a GraphQL response envelope, with the status the GraphQL-over-HTTP
conventions give: with `application/graphql-response+json` 400 for a request that could not
execute; with legacy `application/json` 200 for every well-formed request.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from functools import partial
from inspect import isawaitable
from typing import Any

import orjson
from ariadne import graphql
from ariadne.graphql import handle_graphql_errors, handle_query_result
from graphql import ExecutionResult, GraphQLError, GraphQLSchema
from starlette.requests import Request
from starlette.responses import Response

from app import apikeys
from app.aio import Deadlines
from app.auth import Authenticator
from app.context import RequestContext
from app.db import Database
from app.documents import DocumentCache
from app.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMETERS,
    MASKED_MESSAGE,
    SERVICE_UNAVAILABLE,
    ServiceUnavailable,
    Unauthorized,
    report_error,
)
from app.execution import FastExecutor
from app.limits import QueryLimits
from app.logging_setup import Line, ServiceHandler
from app.playground import Playground
from app.settings import Settings

log = logging.getLogger("slotgraph.http")

# Ariadne logs every error it formats; ours are logged once by app.errors.report_error
# (internal ones only), so its own logger stays quiet.
ARIADNE_LOGGER = "slotgraph.ariadne"
logging.getLogger(ARIADNE_LOGGER).setLevel(logging.CRITICAL)

_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,127}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
JSON_TYPES = ("application/json", "application/graphql-response+json")
DEADLINE_TICK_S = 0.05
MIN_DEADLINE_TICK_S = 0.001
# Set in a request's ASGI scope once the POST lane starts sending its answer.
ANSWERING = "slotgraph.answering"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class _Disconnected(Exception):
    """The client went away before its request body was read."""


class Answer:
    """A response, whichever way it is sent: as a Starlette Response, or straight to the
    ASGI server by the POST lane (`GraphQLEndpoint.asgi_post`)."""

    __slots__ = ("body", "headers", "media_type", "status")

    def __init__(
        self,
        body: bytes,
        status: int = 200,
        media_type: str = JSON_TYPES[0],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.media_type = media_type
        self.headers = headers if headers is not None else {}

    def response(self) -> Response:
        return Response(
            self.body, status_code=self.status, media_type=self.media_type, headers=self.headers
        )

    async def send(self, send: Send) -> None:
        """What Starlette's Response sends for this answer: the same headers and body."""
        raw = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", self.media_type.encode("latin-1")),
        ]
        raw.extend(
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in self.headers.items()
        )
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.body})


class _RequestIds:
    """Request ids of this process: 32 hex digits, a random half per process (drawn again
    in a forked child) and a counter, unique without a random draw per request."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFFFFFF:016x}"


new_request_id = _RequestIds()


def _envelope(message: str, status: int, code: str = INVALID_PARAMETERS) -> Answer:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Answer(orjson.dumps(body), status)


def _negotiate(accept: str) -> str:
    """`_media_type(accept)`, remembered for the few short Accept headers clients send."""
    return _known_media_type(accept) if len(accept) <= 256 else _media_type(accept)


def _media_type(accept: str) -> str:
    """The response media type: application/graphql-response+json when the client accepts it
    at least as much as application/json, else application/json (also for */* or nothing)."""
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[media.strip().lower()] = quality
    modern = weights.get(JSON_TYPES[1], 0.0)
    legacy = max(weights.get(JSON_TYPES[0], 0.0), weights.get("*/*", 0.0) * 0.5)
    return JSON_TYPES[1] if modern > 0 and modern >= legacy else JSON_TYPES[0]


_known_media_type = functools.lru_cache(maxsize=64)(_media_type)


_REQUEST_LINE = "graphql request_id=%s operation=%s statements=%d duration_ms=%.2f status=%d"


def log_request(
    request_id: str, data: dict[str, Any], statements: int, started: float, status: int
) -> None:
    """One line per request. Its text form is parsed by the benchmarks (`statements=N`);
    the JSON form (SLOTGRAPH_LOG_FORMAT=json) carries the same values as fields. Written
    straight to the service's handler when only it would see the line (see
    `ServiceHandler.direct`), else logged as any line is."""
    operation = data.get("operationName")
    if not (isinstance(operation, str) and _OPERATION_NAME.fullmatch(operation)):
        # A client's text goes into the log only when it is a GraphQL name: no forged lines.
        operation = None
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    args = (request_id, operation, statements, duration_ms, status)
    fields = {
        "request_id": request_id,
        "operation": operation,
        "statements": statements,
        "duration_ms": duration_ms,
        "status": status,
    }
    direct = ServiceHandler.direct(log, logging.INFO)
    if direct is not None:
        handler, formatter = direct
        handler.write_line(
            formatter, Line(logging.INFO, log.name, _REQUEST_LINE, args, "graphql request", fields)
        )
        return
    log.info(_REQUEST_LINE, *args, extra={"event": "graphql request", "fields": fields})


class GraphQLEndpoint:
    def __init__(
        self,
        schema: GraphQLSchema,
        database: Database,
        settings: Settings,
        playground: Playground | None,
    ) -> None:
        self.schema = schema
        self.database = database
        self.settings = settings
        self.playground = playground
        self.documents = DocumentCache(
            max_tokens=settings.max_tokens, limits=QueryLimits.from_settings(settings)
        )
        self.authenticator = Authenticator(settings.auth_cache_seconds)
        # A request runs at most a twentieth of its timeout (at most 50 ms, at least 1 ms)
        # past it.
        tick = min(DEADLINE_TICK_S, settings.request_timeout_ms / 1000 / 20)
        self.deadlines = Deadlines(max(MIN_DEADLINE_TICK_S, tick))

    async def handle(self, request: Request) -> Response:
        return (await self._handle(request)).response()

    async def asgi_post(self, scope: Scope, receive: Receive, send: Send) -> None:
        """POST /graphql straight from the ASGI server, without Starlette's request,
        routing and response objects in between (about a tenth of a small request's CPU
        time). The same checks and answers as `handle` gives a POST."""
        headers: dict[str, str] = {}
        for name, value in reversed(scope["headers"]):
            # The first of repeated headers wins, as in Starlette's Headers.
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")

        async def read(limit: int) -> bytes | None:
            # The body, or None past `limit` bytes; a plain coroutine, not an async
            # generator (which asyncio registers and tracks for each request).
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                chunk: bytes = message.get("body", b"")
                if chunk:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        return None
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

        try:
            answer = await self._post(headers, read)
        except _Disconnected:
            return  # nobody to answer
        scope[ANSWERING] = True
        await answer.send(send)

    async def _handle(self, request: Request) -> Answer:
        if request.method not in ("GET", "HEAD", "POST"):
            answer = _envelope(
                f"{request.method} is not supported on /graphql; use POST (or GET for queries).",
                405,
            )
            answer.headers["allow"] = "GET, HEAD, POST"
            return answer
        if request.method in ("GET", "HEAD"):
            if "query" in request.query_params:
                return await self._get_query(request)
            if self.playground is not None and "text/html" in request.headers.get("accept", ""):
                token = self.settings.playground_token
                page = self.playground.page(
                    asset_prefix=str(request.url_for("playground-assets", path="")).rstrip("/"),
                    endpoint=str(request.url_for("graphql")),
                    # Local demo only (Settings refuses a token in production).
                    headers={"Authorization": f"Bearer {token}"} if token else None,
                )
                return Answer(page.encode(), media_type="text/html; charset=utf-8")
            return _envelope(
                "GET /graphql needs a `query` parameter (queries only); send mutations and larger "
                "documents as a POST with Content-Type: application/json.",
                400,
            )

        async def read(limit: int) -> bytes | None:
            body = bytearray()
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    return None
            return bytes(body)

        return await self._post(request.headers, read)

    async def _get_query(self, request: Request) -> Answer:
        params = request.query_params
        if not params["query"].strip():
            return _envelope("The `query` parameter is empty; pass a GraphQL query document.", 400)
        data: dict[str, Any] = {
            "query": params["query"],
            "operationName": params.get("operationName"),
        }
        if params.get("variables"):
            try:
                data["variables"] = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return _envelope("The `variables` parameter is not valid JSON.", 400)
        return await self._execute(request.headers, data, queries_only=True)

    async def _post(
        self, headers: Mapping[str, str], read: Callable[[int], Awaitable[bytes | None]]
    ) -> Answer:
        """A POST's checks and answer; `read(limit)` gives the body, or None when it is
        longer than `limit` bytes."""
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return _envelope(
                f"POST /graphql takes Content-Type: application/json, got {content_type or 'none'!r}.",
                415,
            )
        limit = self.settings.max_body_bytes
        too_large = f"The request body exceeds {limit} bytes (max body bytes); send a smaller one."
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return _envelope(too_large, 413)
        body = await read(limit)
        if body is None:
            return _envelope(too_large, 413)
        try:
            # orjson refuses nesting deeper than 1024 levels with the same error, so a deeply
            # nested body is a 400 here, never a recursion error later.
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _envelope("The request body is not valid JSON.", 400)
        if not isinstance(data, dict):
            return _envelope(
                "The request body must be one JSON object with `query` (batched arrays are not "
                "supported).",
                400,
            )
        return await self._execute(headers, data, queries_only=False)

    def _timed_out(
        self, request_id: str, data: dict[str, Any], statements: int, started: float
    ) -> Answer:
        answer = _envelope(
            f"The request took longer than {self.settings.request_timeout_ms} ms (request "
            "timeout) and was cancelled; retry it, or ask for less (smaller pages, fewer "
            "nested connections).",
            503,
            SERVICE_UNAVAILABLE,
        )
        answer.headers["x-request-id"] = request_id
        log_request(request_id, data, statements, started, 503)
        return answer

    def _refused(
        self,
        error: Unauthorized | ServiceUnavailable,
        request_id: str,
        data: dict[str, Any],
        statements: int,
        started: float,
    ) -> Answer:
        """No usable API key (401, the same answer whichever part was wrong), or no database
        to check it against (503, retryable)."""
        unauthorized = isinstance(error, Unauthorized)
        status = 401 if unauthorized else 503
        answer = _envelope(error.message, status, error.code)
        answer.headers["x-request-id"] = request_id
        if unauthorized:
            answer.headers["www-authenticate"] = 'Bearer realm="slotgraph"'
        log_request(request_id, data, statements, started, status)
        return answer

    async def _run(
        self, data: dict[str, Any], context: RequestContext, request_id: str, queries_only: bool
    ) -> dict[str, Any]:
        """The request's GraphQL result. A request whose document is cached, valid, within
        the limits and runnable as asked (`DocumentCache.ready`) goes straight to the
        executor, with what Ariadne's `graphql` does around it for such a request: its
        result handling and error formatting, without building its validation rules, its
        extension manager and its checks of the request again (about 30 Python calls and
        6 us a request). Every other request takes Ariadne's `graphql`."""
        formatter = partial(report_error, request_id=request_id)
        debug = self.settings.debug
        fast = self.settings.fast_execution
        document = (
            self.documents.ready(self.schema, data, queries_only=queries_only) if fast else None
        )
        if document is None:
            _, result = await graphql(
                self.schema,
                data,
                context_value=context,
                query_parser=self.documents.parse,
                query_validator=self.documents.validator(data),
                debug=debug,
                introspection=self.settings.introspection,
                error_formatter=formatter,
                require_query=queries_only,
                execution_context_class=FastExecutor if fast else None,
                logger=ARIADNE_LOGGER,
            )
            return result
        try:
            # What graphql-core's `execute` does, without its two wrappers (the schema has
            # no @defer or @stream, so the result is one payload): build the executor, or
            # answer with the request errors (variables that do not coerce).
            built = FastExecutor.ready(
                self.schema, document, context, data.get("variables"), data.get("operationName")
            )
            outcome = (
                ExecutionResult(None, built)
                if isinstance(built, list)
                else built.execute_operation()
            )
            if isawaitable(outcome):
                outcome = await outcome
        except GraphQLError as error:
            _, result = handle_graphql_errors(
                [error], logger=ARIADNE_LOGGER, error_formatter=formatter, debug=debug
            )
            return result
        _, result = handle_query_result(
            outcome, logger=ARIADNE_LOGGER, error_formatter=formatter, debug=debug
        )
        return result

    async def _execute(
        self, headers: Mapping[str, str], data: dict[str, Any], *, queries_only: bool
    ) -> Answer:
        # A client's request id is kept when it is a plain token (it ends up in logs).
        given = headers.get("x-request-id", "")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else new_request_id()
        started = time.perf_counter()
        session = self.database.session()
        context: RequestContext | None = None
        timeout_s = self.settings.request_timeout_ms / 1000
        try:
            # The key lookup is inside the request timeout too: a slow database cannot hold a
            # request longer than any other statement could.
            with self.deadlines.limit(timeout_s) as deadline:
                authorization = headers.get("authorization")
                caller = self.authenticator.cached(authorization)
                if caller is None:
                    try:
                        caller = await self.authenticator.authenticate(
                            authorization, lambda key_id: apikeys.lookup(session, key_id)
                        )
                    except (Unauthorized, ServiceUnavailable) as error:
                        return self._refused(error, request_id, data, session.statements, started)
                context = RequestContext(
                    settings=self.settings, session=session, request_id=request_id, caller=caller
                )
                result = await self._run(data, context, request_id, queries_only)
        except TimeoutError:
            if not deadline.expired():
                raise
            # Loader batches run in tasks of their own, which the timeout does not reach:
            # cancel the statement in flight so the connection is free again at once.
            session.cancel()
            await session.close()
            return self._timed_out(request_id, data, session.statements, started)
        except Exception:
            # Nothing should get here (resolver errors are formatted by graphql); if it does,
            # the client still gets a GraphQL envelope, and the details stay in the log.
            log.exception("graphql request_id=%s failed outside execution", request_id)
            result = {
                "errors": [
                    {
                        "message": MASKED_MESSAGE,
                        "extensions": {"code": INTERNAL_ERROR, "requestId": request_id},
                    }
                ]
            }
            return Answer(orjson.dumps(result), 500)
        finally:
            await session.close()
            if context is not None:
                context.release()
        errors = result.get("errors") or ()
        if result.get("data") is None and errors and all("path" not in e for e in errors):
            # A request error (e.g. variables that do not coerce): execution never started, so
            # per the GraphQL spec there is no `data` entry.
            result.pop("data", None)
        # GraphQL-over-HTTP: with application/graphql-response+json a request that could not
        # execute is a 4xx; legacy application/json answers every well-formed request with 200.
        media_type = _negotiate(headers.get("accept", ""))
        status = 400 if media_type == JSON_TYPES[1] and "data" not in result else 200
        log_request(request_id, data, session.statements, started, status)
        return Answer(orjson.dumps(result), status, media_type, {"x-request-id": request_id})
