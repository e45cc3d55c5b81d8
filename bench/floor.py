"""The floor: what each benchmark query costs with nothing between HTTP and PostgreSQL.

A plain ASGI app (no framework) with one endpoint per benchmark query, `POST /floor/<key>`,
taking the same request body slotgraph gets. Each endpoint runs one SQL statement through a
raw asyncpg pool (asyncpg prepares and caches it; no connection reset when a connection goes
back to the pool) and builds the same `data` slotgraph returns (same keys in the same order,
amounts as the same exact decimal strings, cursors encoded the same way), serialized with
orjson. No GraphQL parsing, validation or execution, no authentication, no per-request
logging: the benchmark reports every slotgraph figure as a ratio to this one.

Run by the benchmark as `uvicorn --factory bench.floor:create_app --workers N --loop uvloop
--http httptools --no-access-log`, the same server settings as slotgraph, with the pool sizes
and statement timeout of slotgraph's settings (SLOTGRAPH_POOL_*, from the same environment).

Where the shape of a query needs more than one row set (a page of parents with a page and a
count per parent), the statement joins LATERAL subqueries, so it stays one round trip; the
rows are the ones slotgraph fetches, not fewer columns than the answer needs. Each query's
page sizes are the constants below, which bench.cluster builds its GraphQL documents from.

This module imports nothing from the service but its settings, so the floor's workers do not
carry slotgraph's modules in their memory.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from app.settings import Settings

# The benchmark's page sizes: bench.cluster writes its GraphQL documents with these.
SLOT_LIST_LIMIT = 100
AGENT_PAGE = 50
SLOT_PAGE = 5
RUNNING_PAGE = 100
# resourceAllocations without pagination arguments: slotgraph's default page size.
ALLOCATION_PAGE = 10
KERNEL_PAGE = 50
# The page sizes are written into the SQL, as slotgraph writes them (app.pagination): a
# LIMIT that is a parameter keeps PostgreSQL from ever settling on a generic plan, so each
# execution would be planned again (slotgraph paid that until it stopped; so does the
# floor now).

# How many SQL statements each endpoint runs per request (the report's floor column).
STATEMENTS = 1

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[asyncpg.Pool, dict[str, Any]], Awaitable[dict[str, Any]]]

ZERO = Decimal(0)
CURSOR_VERSION = 1
KERNEL_PAGE_ORDER = "KernelV2[CREATED_AT:ASC,ID:ASC]"


class BadRequest(ValueError):
    pass


def global_id(type_name: str, raw: str) -> str:
    return base64.b64encode(f"{type_name}:{raw}".encode()).decode("ascii")


def decimal_text(value: Decimal) -> str:
    # slotgraph's Decimal scalar: plain notation, no exponent, no trailing zeros.
    return format(value.normalize(), "f")


def datetime_text(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def datetime_json(value: dt.datetime | None) -> dt.datetime | str | None:
    # What slotgraph answers: orjson writes a UTC datetime as its isoformat, faster.
    if value is None or value.tzinfo is dt.UTC:
        return value
    return value.isoformat()


def kernel_cursor(created_at: dt.datetime | None, kernel_id: uuid.UUID) -> str:
    payload = [CURSOR_VERSION, KERNEL_PAGE_ORDER, [datetime_text(created_at), str(kernel_id)]]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode("ascii").rstrip("=")


def decode_kernel_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        version, order, (created_at, kernel_id) = orjson.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
    except (binascii.Error, ValueError, TypeError) as error:
        raise BadRequest(f"bad cursor {cursor!r}") from error
    if version != CURSOR_VERSION or order != KERNEL_PAGE_ORDER or created_at is None:
        # A NULL created_at in the cursor would need the NULL branch only; the data has none.
        raise BadRequest(f"cursor {cursor!r} is not a page cursor of this order")
    return dt.datetime.fromisoformat(created_at), uuid.UUID(kernel_id)


# --- one handler per query -----------------------------------------------------------------

SLOT_LIST_SQL = f"""
SELECT slot_name, slot_type, display_name, display_unit,
       coalesce((number_format->>'binary')::boolean, false),
       coalesce((number_format->>'round_length')::int, 0)
FROM resource_slot_types
ORDER BY rank, slot_name
LIMIT {SLOT_LIST_LIMIT}
"""


async def slot_list(pool: asyncpg.Pool, _: dict[str, Any]) -> dict[str, Any]:
    rows = await pool.fetch(SLOT_LIST_SQL)
    edges = [
        {
            "node": {
                "id": global_id("ResourceSlotType", name),
                "slotName": name,
                "slotType": slot_type,
                "displayName": display_name,
                "displayUnit": display_unit,
                "numberFormat": {"binary": binary, "roundLength": round_length},
            }
        }
        for name, slot_type, display_name, display_unit, binary, round_length in rows
    ]
    return {"resourceSlotTypes": {"edges": edges}}


# The tiebreaker follows the last term's direction, as slotgraph's order does.
AGENTS_SQL = f"""
SELECT a.id, a.status, c.n, s.slot_name, s.capacity, s.used
FROM (SELECT id, status FROM agents ORDER BY id LIMIT {AGENT_PAGE}) AS a
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM agent_resources AS r WHERE r.agent_id = a.id
) AS c
LEFT JOIN LATERAL (
  SELECT r.slot_name, r.capacity, r.used FROM agent_resources AS r WHERE r.agent_id = a.id
  ORDER BY r.used DESC, r.slot_name DESC LIMIT {SLOT_PAGE}
) AS s ON true
ORDER BY a.id, s.used DESC, s.slot_name DESC
"""


def _slot_node(slot_name: str, capacity: Decimal, used: Decimal) -> dict[str, Any]:
    return {
        "node": {
            "slotName": slot_name,
            "capacity": decimal_text(capacity),
            "used": decimal_text(used),
            "free": decimal_text(max(capacity - used, ZERO)),
        }
    }


async def agents(pool: asyncpg.Pool, _: dict[str, Any]) -> dict[str, Any]:
    rows = await pool.fetch(AGENTS_SQL)
    edges: list[dict[str, Any]] = []
    slots: list[dict[str, Any]] = []
    current = None
    for agent_id, status, count, slot_name, capacity, used in rows:
        if agent_id != current:
            current, slots = agent_id, []
            node = {
                "id": global_id("AgentV2", agent_id),
                "statusInfo": {"status": status},
                "resourceSlots": {"count": count, "edges": slots},
            }
            edges.append({"node": node})
        if slot_name is not None:
            slots.append(_slot_node(slot_name, capacity, used))
    return {"agentsV2": {"edges": edges}}


# Every slot of each agent (resourceInfo needs them all), in slot-name order, with each slot's
# rank in the page order, so the page is cut in Python in PostgreSQL's collation.
AGENTS_INFO_SQL = f"""
SELECT a.id, a.status, k.n, s.names, s.capacities, s.used, s.ranks
FROM (SELECT id, status FROM agents ORDER BY id LIMIT {AGENT_PAGE}) AS a
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM kernels AS k
  WHERE k.agent = a.id AND k.status NOT IN ('TERMINATED', 'CANCELLED')
) AS k
CROSS JOIN LATERAL (
  SELECT array_agg(slot_name ORDER BY slot_name) AS names,
         array_agg(capacity ORDER BY slot_name) AS capacities,
         array_agg(used ORDER BY slot_name) AS used,
         array_agg(rank ORDER BY slot_name) AS ranks
  FROM (
    SELECT r.slot_name, r.capacity, r.used,
           row_number() OVER (ORDER BY r.used DESC, r.slot_name DESC) AS rank
    FROM agent_resources AS r WHERE r.agent_id = a.id
  ) AS ranked
) AS s
ORDER BY a.id
"""


async def agents_info(pool: asyncpg.Pool, _: dict[str, Any]) -> dict[str, Any]:
    rows = await pool.fetch(AGENTS_INFO_SQL)
    edges = []
    for agent_id, status, containers, names, capacities, used, ranks in rows:
        slots = list(zip(ranks or (), names or (), capacities or (), used or (), strict=True))
        page = sorted(slots)[:SLOT_PAGE]
        node = {
            "id": global_id("AgentV2", agent_id),
            "statusInfo": {"status": status},
            "resourceSlots": {
                "count": len(slots),
                "edges": [_slot_node(name, cap, use) for _, name, cap, use in page],
            },
            "containerCount": containers,
            "resourceInfo": {
                "capacity": {name: decimal_text(cap) for _, name, cap, _ in slots},
                "used": {name: decimal_text(use) for _, name, _, use in slots},
                "free": {name: decimal_text(max(cap - use, ZERO)) for _, name, cap, use in slots},
            },
        }
        edges.append({"node": node})
    return {"agentsV2": {"edges": edges}}


RUNNING_SQL = f"""
SELECT k.id, k.status, k.created_at, c.n, r.slot_name, r.requested, r.used
FROM (
  SELECT id, status, created_at FROM kernels WHERE status = $1
  ORDER BY created_at DESC, id DESC LIMIT {RUNNING_PAGE}
) AS k
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM resource_allocations AS a WHERE a.kernel_id = k.id
) AS c
LEFT JOIN LATERAL (
  SELECT a.slot_name, a.requested, a.used FROM resource_allocations AS a
  WHERE a.kernel_id = k.id ORDER BY a.slot_name LIMIT {ALLOCATION_PAGE}
) AS r ON true
ORDER BY k.created_at DESC, k.id DESC, r.slot_name
"""


async def running_kernels(pool: asyncpg.Pool, _: dict[str, Any]) -> dict[str, Any]:
    rows = await pool.fetch(RUNNING_SQL, "RUNNING")
    edges: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    current = None
    for kernel_id, status, created_at, count, slot_name, requested, used in rows:
        if kernel_id != current:
            current, allocations = kernel_id, []
            node = {
                "id": global_id("KernelV2", str(kernel_id)),
                "lifecycle": {"status": status, "createdAt": datetime_json(created_at)},
                "resourceAllocations": {"count": count, "edges": allocations},
            }
            edges.append({"node": node})
        if slot_name is not None:
            allocations.append(
                {
                    "node": {
                        "slotName": slot_name,
                        "requested": decimal_text(requested),
                        "used": None if used is None else decimal_text(used),
                    }
                }
            )
    return {"adminKernelsV2": {"edges": edges}}


NODES_SQL = """
SELECT 0, id, NULL FROM agents WHERE id = ANY($1::text[])
UNION ALL
SELECT 1, r.agent_id, r.slot_name FROM unnest($2::text[], $3::text[]) AS w(a, s)
JOIN agent_resources AS r ON r.agent_id = w.a AND r.slot_name = w.s
UNION ALL
SELECT 2, slot_name, NULL FROM resource_slot_types WHERE slot_name = ANY($4::text[])
UNION ALL
SELECT 3, id::text, NULL FROM kernels WHERE id = ANY($5::uuid[])
UNION ALL
SELECT 4, a.kernel_id::text, a.slot_name FROM unnest($6::uuid[], $7::text[]) AS w(k, s)
JOIN resource_allocations AS a ON a.kernel_id = w.k AND a.slot_name = w.s
"""
NODE_TYPES = (
    "AgentV2",
    "AgentResourceSlot",
    "ResourceSlotType",
    "KernelV2",
    "KernelResourceAllocation",
)
_TYPE_INDEX = {name: i for i, name in enumerate(NODE_TYPES)}


def _node_key(type_name: str, raw: str) -> tuple[int, str, str | None]:
    index = _TYPE_INDEX.get(type_name)
    if index is None:
        raise BadRequest(f"unknown node type {type_name!r}")
    if index in (1, 4):
        owner, _, slot_name = raw.partition(":")
        return index, str(uuid.UUID(owner)) if index == 4 else owner, slot_name
    return index, str(uuid.UUID(raw)) if index == 3 else raw, None


async def nodes(pool: asyncpg.Pool, request: dict[str, Any]) -> dict[str, Any]:
    keys = []
    for value in request["variables"]["ids"]:
        type_name, _, raw = base64.b64decode(value, validate=True).decode().partition(":")
        keys.append(_node_key(type_name, raw))
    wanted: list[list[tuple[str, str | None]]] = [[] for _ in NODE_TYPES]
    for index, owner, slot_name in keys:
        wanted[index].append((owner, slot_name))
    rows = await pool.fetch(
        NODES_SQL,
        [owner for owner, _ in wanted[0]],
        [owner for owner, _ in wanted[1]],
        [slot for _, slot in wanted[1]],
        [owner for owner, _ in wanted[2]],
        [owner for owner, _ in wanted[3]],
        [owner for owner, _ in wanted[4]],
        [slot for _, slot in wanted[4]],
    )
    found = {(index, owner, slot_name) for index, owner, slot_name in rows}
    answer: list[dict[str, str] | None] = []
    for key in keys:
        if key not in found:
            answer.append(None)
            continue
        index, owner, slot_name = key
        raw = owner if slot_name is None else f"{owner}:{slot_name}"
        answer.append({"__typename": NODE_TYPES[index], "id": global_id(NODE_TYPES[index], raw)})
    return {"nodes": answer}


FIRST_PAGE_SQL = f"""
SELECT id, status, created_at FROM kernels ORDER BY created_at, id LIMIT {KERNEL_PAGE + 1}
"""
# created_at is nullable and sorts last: the rows after a cursor are those after it in
# (created_at, id), which one row comparison seeks on the (created_at, id) index, then the
# NULL ones (the demo data has none, so that branch finds nothing at the index's end).
AFTER_PAGE_SQL = f"""
SELECT id, status, created_at FROM (
  (SELECT id, status, created_at FROM kernels WHERE (created_at, id) > ($1, $2)
   ORDER BY created_at, id LIMIT {KERNEL_PAGE + 1})
  UNION ALL
  (SELECT id, status, created_at FROM kernels WHERE created_at IS NULL ORDER BY id
   LIMIT {KERNEL_PAGE + 1})
) AS page
ORDER BY created_at, id
LIMIT {KERNEL_PAGE + 1}
"""


async def kernel_page(pool: asyncpg.Pool, request: dict[str, Any]) -> dict[str, Any]:
    after = (request.get("variables") or {}).get("after")
    if after is None:
        rows = await pool.fetch(FIRST_PAGE_SQL)
    else:
        created_at, kernel_id = decode_kernel_cursor(after)
        rows = await pool.fetch(AFTER_PAGE_SQL, created_at, kernel_id)
    page = rows[:KERNEL_PAGE]
    edges = [
        {
            "node": {
                "id": global_id("KernelV2", str(kernel_id)),
                "lifecycle": {"status": status, "createdAt": datetime_json(created_at)},
            }
        }
        for kernel_id, status, created_at in page
    ]
    end = kernel_cursor(page[-1][2], page[-1][0]) if page else None
    return {
        "adminKernelsV2": {
            "pageInfo": {"hasNextPage": len(rows) > KERNEL_PAGE, "endCursor": end},
            "edges": edges,
        }
    }


# The benchmark's query keys (bench.cluster) to their endpoints; e and f are one document,
# with and without `after`, as in slotgraph.
HANDLERS: dict[str, Handler] = {
    "s": slot_list,
    "a": agents,
    "b": agents_info,
    "c": running_kernels,
    "d": nodes,
    "e": kernel_page,
    "f": kernel_page,
}


def path_for(key: str) -> str:
    return f"/floor/{key}"


# --- the ASGI app --------------------------------------------------------------------------


async def _no_reset(_: asyncpg.Connection) -> None:
    # The endpoints change no session state, so the reset a released connection gets by
    # default (a round trip with RESET ALL, UNLISTEN, ...) would be pure overhead here.
    return None


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The floor app for one worker process; its pool opens at lifespan start-up."""
    settings = Settings.from_env()
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL must be set")
    database_url = settings.database_url
    routes = {path_for(key): handler for key, handler in HANDLERS.items()}
    pools: list[asyncpg.Pool] = []

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    pool = await asyncpg.create_pool(
                        database_url,
                        min_size=settings.pool_min_size,
                        max_size=settings.pool_max_size,
                        command_timeout=settings.statement_timeout_ms / 1000 + 1,
                        server_settings={
                            "statement_timeout": str(settings.statement_timeout_ms),
                            "application_name": "slotgraph-bench-floor",
                        },
                        reset=_no_reset,
                    )
                except (OSError, asyncpg.PostgresError) as error:
                    await send({"type": "lifespan.startup.failed", "message": str(error)})
                    return
                pools.append(pool)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for pool in pools:
                    await pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/readyz":
            await _respond(send, 200 if pools else 503, b'{"status":"ok"}')
            return
        handler = routes.get(path)
        if handler is None or scope["method"] != "POST":
            await _respond(send, 404, b'{"errors":[{"message":"no such endpoint"}]}')
            return
        try:
            request = orjson.loads(await _read_body(receive))
            data = await handler(pools[0], request)
        except (BadRequest, ValueError, KeyError, TypeError) as error:
            body = orjson.dumps({"errors": [{"message": f"{type(error).__name__}: {error}"}]})
            await _respond(send, 400, body)
            return
        await _respond(send, 200, orjson.dumps({"data": data}))

    return app
