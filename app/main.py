"""create_app(settings) -> the Starlette application."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from starlette._utils import get_route_path
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from app.db import Database
from app.errors import AppError
from app.http import ANSWERING, GraphQLEndpoint
from app.logging_setup import lean_records, write_at_once
from app.migrate import head_revision
from app.playground import Playground, PlaygroundUnavailable
from app.schema import build_schema
from app.settings import Settings

log = logging.getLogger("slotgraph")


class NotMigrated(RuntimeError):
    pass


# Python's cyclic garbage collector, as a server wants it (each worker, once started): a
# young generation of 50,000 objects before a collection; the older generations keep their
# default ratios, so cyclic garbage that survives into them is still collected within a
# few thousand requests (rarer full collections let RSS grow by tens of MiB a minute).
# A page of 100 kernels with their allocations has more than 10,000 objects alive at once:
# with a young generation of 10,000, every such request ran a collection that walked all
# of them (~1 ms). Requests leave no cyclic garbage (RequestContext.release, and the
# executor's own `_finish`), so a larger young generation holds little.
GC_THRESHOLDS = (50_000, 10, 10)


def tune_gc() -> None:
    """Moves everything alive after start-up (the schema, its resolvers, the documents,
    the pool) out of the collector's sight with `gc.freeze()`, so collections scan only what
    requests create, and collects less often. A request allocates thousands of short-lived
    objects; with the defaults, full collections walked the whole heap several times a
    second and were most of the mean and p99 latency of the larger queries (measured with
    bench/ and in-process: a 100-kernel query's p99 fell from 65 ms to 10 ms)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def migration_state(database: Database) -> str | None:
    """The database's alembic revision, or None when it has never been migrated."""
    exists = await database.fetch_all(
        sa.select(sa.func.to_regclass("public.alembic_version").label("t"))
    )
    if exists[0]["t"] is None:
        return None
    rows = await database.fetch_all(sa.text("SELECT version_num FROM alembic_version"))
    return rows[0]["version_num"] if rows else None


async def check_migrated(database: Database) -> None:
    current, head = await migration_state(database), head_revision()
    if current != head:
        raise NotMigrated(
            f"The database is at revision {current or 'none (empty)'}, this release needs {head}. "
            "Run `make migrate` (or `python -m app migrate`) and start again."
        )


class App(Starlette):
    """The Starlette application, with POST /graphql (nearly every request the service
    gets) handed straight to the endpoint's ASGI lane; everything else, and that too if
    the lane fails before answering, goes through Starlette."""

    graphql_post: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lane = self.graphql_post
        if (
            lane is not None
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and get_route_path(scope) == "/graphql"
        ):
            scope["app"] = self
            try:
                await lane(scope, receive, send)
            except Exception:
                # What Starlette's ServerErrorMiddleware does: a 500 if nothing was sent yet,
                # and the error goes on to the server, which logs it. The lane marks the
                # scope as it starts answering (no wrapper around every `send`).
                if not scope.get(ANSWERING):
                    await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
                raise
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> Starlette:
    schema = build_schema()
    database = Database(settings)
    playground: Playground | None = None
    if settings.playground:
        try:
            playground = Playground.load()
        except PlaygroundUnavailable as error:
            log.error("playground disabled: %s", error)
    endpoint = GraphQLEndpoint(schema, database, settings, playground)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await database.connect()
        try:
            await check_migrated(database)
            if settings.gc_tuning:
                tune_gc()
            yield
        finally:
            write_at_once()
            await database.disconnect()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            # A drained pool or a server that stopped answering must not hang the probe.
            async with asyncio.timeout(
                (settings.pool_timeout_ms + settings.statement_timeout_ms) / 1000
            ):
                await check_migrated(database)
        except NotMigrated as error:
            return JSONResponse({"status": "unready", "reason": str(error)}, status_code=503)
        except AppError as error:
            return JSONResponse({"status": "unready", "reason": error.message}, status_code=503)
        except Exception as error:
            # Unreachable, dropped or misconfigured database: not ready, whatever the cause.
            log.warning("readiness check failed: %s", error)
            return JSONResponse(
                {"status": "unready", "reason": "the database check failed"}, status_code=503
            )
        return JSONResponse({"status": "ready"})

    routes: list[BaseRoute] = [
        Route(
            "/graphql",
            endpoint.handle,
            # Every method reaches the endpoint, so the unsupported ones get an envelope too.
            methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            name="graphql",
        ),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if playground is not None:
        routes.append(
            Mount(
                "/playground-assets",
                StaticFiles(directory=playground.asset_dir),
                name="playground-assets",
            )
        )
    app = App(routes=routes, lifespan=lifespan)
    app.graphql_post = endpoint.asgi_post
    app.state.database = database
    app.state.settings = settings
    return app


def app_from_env() -> Starlette:
    """The app of one `serve --workers N` worker process, with settings from its environment
    (`serve` puts the resolved DATABASE_URL there)."""
    lean_records()
    return create_app(Settings.from_env())
