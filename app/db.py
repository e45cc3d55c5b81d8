"""The database handle: a `databases` pool over asyncpg, and the per-request connection.

Every sibling async resolver runs as its own asyncio Task, and `databases` would give each
Task its own pool connection, so one wide query could drain the pool. A request therefore
takes exactly one connection, lazily on its first statement, and all of its statements go
through it (serialized by the connection's own lock). Statements are counted per request:
the count is part of the API's contract and shows up in tests and logs.
"""

from __future__ import annotations

import asyncio
import logging
import operator
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from databases import Database as _Pool
from databases.backends.common.records import Record as _Record
from databases.backends.common.records import create_column_maps
from databases.core import Connection as _Connection
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import ClauseElement, ColumnElement, CompoundSelect, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import Label, TypeCoerce

from app.aio import current_task, running_loop
from app.errors import ServiceUnavailable
from app.settings import Settings

log = logging.getLogger("slotgraph.db")

Row = Any  # databases.interfaces.Record: row["column"] gives converted values
StatementListener = Callable[[ClauseElement], None]


class Result(list[Any]):
    """A statement's rows as asyncpg gives them, without `databases`' Record around each
    (~0.25 us a row: 100 µs of a page of 100 kernels with 300 allocations), and what reads
    them: `reader`/`getter` functions of a raw row that give what `Record[name]` gives, and
    `wrap` for code that needs the Record itself. The rows share one column map (one
    statement)."""

    __slots__ = ("_columns", "_dialect", "_maps")

    def __init__(
        self, rows: list[Any], result_columns: Any, dialect: Dialect, column_maps: Any
    ) -> None:
        super().__init__(rows)
        self._columns = result_columns
        self._dialect = dialect
        self._maps = column_maps

    def wrap(self, raw: Any) -> Row:
        return _Record(raw, self._columns, self._dialect, self._maps)

    def view(self, rows: list[Any], column_maps: Any) -> Result:
        """`rows` of this result (or of one of its views), read through `column_maps`: a
        view whose names are some of the result's columns under other names (see
        `prefixed_views`)."""
        return Result(rows, self._columns, self._dialect, column_maps)

    def reader(self, name: str) -> Callable[[Any], Any]:
        """What reads column `name` of a raw row of this result."""
        column_map = self._maps[0]
        if not column_map or self._dialect.name != "postgresql":
            wrap = self.wrap
            return lambda raw: wrap(raw)[name]
        index, datatype = column_map[name]
        processor = datatype._cached_result_processor(self._dialect, None)
        if processor is None:
            return operator.itemgetter(index)

        def read(raw: Any) -> Any:
            # Record.__getitem__ on PostgreSQL: the processor only for these raw types.
            value = raw[index]
            if isinstance(value, (int, str, float)):
                return processor(value)
            return value

        return read

    def getter(self, names: Sequence[str]) -> Callable[[Any], tuple[Any, ...]]:
        """What reads the columns `names` of a raw row as one tuple: one C call when none
        of them has a result processor."""
        column_map = self._maps[0]
        if column_map and self._dialect.name == "postgresql":
            indexes = []
            for name in names:
                index, datatype = column_map[name]
                if datatype._cached_result_processor(self._dialect, None) is not None:
                    break
                indexes.append(index)
            else:
                get = operator.itemgetter(*indexes)
                if len(indexes) == 1:
                    return lambda raw: (get(raw),)
                return get
        readers = tuple(self.reader(name) for name in names)
        return lambda raw: tuple(read(raw) for read in readers)


# Failures of the database, not of the statement: the same request can succeed later.
_UNAVAILABLE = (
    OSError,  # also TimeoutError: asyncpg's command_timeout
    asyncpg.exceptions.InterfaceError,
    # The protocol state of a connection the server dropped mid-statement ("cannot switch
    # to state ..."); the pool discards the connection when it is released.
    asyncpg.exceptions.InternalClientError,
    # 08: connection exceptions (e.g. the server closed it).
    asyncpg.exceptions.PostgresConnectionError,
    # 57: operator intervention: statement timeout, pg_terminate_backend, shutdown, restart.
    asyncpg.exceptions.OperatorInterventionError,
    # 53: out of connections, memory or disk.
    asyncpg.exceptions.InsufficientResourcesError,
)
UNAVAILABLE_MESSAGE = (
    "The database is unavailable or the statement took too long; retry the request."
)
# Whatever stops a new connection from being made: besides the above, e.g. a database that
# does not accept connections right now, was dropped, or a password that was changed.
_CONNECT_FAILURES = (*_UNAVAILABLE, asyncpg.exceptions.PostgresError)


def with_database(url: str, name: str) -> str:
    """The same postgresql:// URL with another database name, keeping any query (?host=)."""
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


@asynccontextmanager
async def connected(url: str, **options: Any) -> AsyncIterator[asyncpg.Connection]:
    """One plain asyncpg connection for a few setup statements (CLI, tests, benchmarks),
    closed however they end; the service itself uses the pool."""
    connection = await asyncpg.connect(url, **options)
    try:
        yield connection
    finally:
        await connection.close()


async def admin(url: str, statement: str) -> None:
    """Run one statement on its own connection (e.g. CREATE DATABASE, which cannot run in a
    transaction)."""
    async with connected(url) as connection:
        await connection.execute(statement)


def sqlalchemy_url(database_url: str) -> str:
    """The same DSN for SQLAlchemy's asyncpg dialect (used by alembic)."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    return database_url


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """What the pool runs on a connection it takes back, after asyncpg's own clean-up (which
    rolls back a transaction left open): nothing.

    asyncpg's default also sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`, one more round trip per request, to undo session state. The service never
    creates any: its statements are single SELECTs outside transactions, with no SET, LISTEN,
    cursor or advisory lock, and its settings (statement_timeout) are the connection's
    start-up parameters, which RESET ALL would keep anyway."""


# A statement ready to run: SQL with `$n` placeholders, its arguments, and what `databases`
# needs to build Records of its result (result columns, column maps).
_Prepared = tuple[str, list[Any], Any, Any]

# The SQL text of one statement shape with `$n` placeholders, the sorted names of its
# parameters, their bind processors, and what `databases` needs to build its Records.
_Shape = tuple[SQLCompiler, str, tuple[str, ...], Mapping[str, Any], Any, Any]


# A page statement's SQL, where each `$n` parameter's value comes from (a named value of the
# page, or a position in its filter's cache key), the bind processors, and the result maps.
_Template = tuple[str, tuple[tuple[str, str | int], ...], Mapping[str, Any], Any, Any]


class CompiledStatements:
    """Compiled SQL per statement shape, so a statement is compiled once, not per request.

    `databases` compiles every statement it runs (~0.4 ms for a nested page on this machine,
    more than the statement's own round trip). Statements built from the same arguments
    differ only in their values, which is what SQLAlchemy's cache key captures: the key of
    the statement's structure, and its bound values in a fixed order. The shape is compiled
    the first time; later statements of the same shape take the cached SQL text (which also
    keeps asyncpg's prepared-statement cache warm) with their own values, processed exactly
    as `databases` processes them. Statements whose SQL text depends on their values
    (expanding IN lists, literal-rendered parameters) or that have no cache key are left to
    `databases`. Bounded: the least recently used shape is dropped beyond `size`."""

    def __init__(self, dialect: Dialect, size: int = 512) -> None:
        self._dialect = dialect
        self._size = size
        self._shapes: OrderedDict[Any, _Shape | None] = OrderedDict()
        self._templates: OrderedDict[Any, _Template | None] = OrderedDict()
        self.compiled = 0  # shapes compiled so far (read by tests)

    def prepare(self, query: ClauseElement) -> _Prepared | None:
        """(SQL, arguments, result columns, column maps) for `query`, or None when
        `databases` must compile it itself."""
        cache_key = query._generate_cache_key()
        if cache_key is None:
            return None
        shapes = self._shapes
        try:
            shape = shapes[cache_key.key]
        except KeyError:
            shape = shapes[cache_key.key] = self._compile(query, cache_key)
            if len(shapes) > self._size:
                shapes.popitem(last=False)
        else:
            shapes.move_to_end(cache_key.key)
        if shape is None:
            return None
        compiled, sql, names, processors, result_columns, column_maps = shape
        params = compiled.construct_params(extracted_parameters=cache_key.bindparams)
        args = [
            processors[name](params[name]) if name in processors else params[name] for name in names
        ]
        return sql, args, result_columns, column_maps

    def prepare_page(
        self, page: PageStatement, *, build: bool
    ) -> tuple[ClauseElement | None, _Prepared | None]:
        """A page statement of a known shape is not even built: its compiled SQL takes the
        page's named values and its filter's bound values (in the order of the filter's
        cache key, which is the same for every filter of one structure). Returns the
        statement when it was built (a new shape, or `build`: someone listens), and what
        `prepare` returns (None: run the statement through `databases`)."""
        statement: ClauseElement | None
        where_key = None
        if page.where is not None:
            where_key = page.where._generate_cache_key()
            if where_key is None:
                statement = page.build()
                return statement, self.prepare(statement)
        key = ("page", page.shape, None if where_key is None else where_key.key)
        templates = self._templates
        try:
            template = templates[key]
        except KeyError:
            statement = page.build()
            template = templates[key] = self._template(statement, page, where_key)
            if len(templates) > self._size:
                templates.popitem(last=False)
        else:
            templates.move_to_end(key)
            statement = page.build() if build else None
        if template is None:
            built = statement if statement is not None else page.build()
            return built, self.prepare(built)
        sql, recipe, processors, result_columns, column_maps = template
        extracted = where_key.bindparams if where_key is not None else ()
        args = []
        for name, source in recipe:
            value = (
                page.values[source]
                if isinstance(source, str)
                else extracted[source].effective_value
            )
            args.append(processors[name](value) if name in processors else value)
        return statement, (sql, args, result_columns, column_maps)

    def _compiled(self, statement: ClauseElement, cache_key: Any = None) -> SQLCompiler | None:
        """The statement compiled once, or None when its SQL text depends on its values
        (expanding IN lists, literal-rendered parameters): no text to reuse then."""
        self.compiled += 1
        compiled = cast(SQLCompiler, statement.compile(dialect=self._dialect, cache_key=cache_key))
        if compiled.literal_execute_params or compiled.post_compile_params:
            return None
        return compiled

    @staticmethod
    def _numbered(compiled: SQLCompiler, names: Sequence[str]) -> tuple[str, Any, Any]:
        """The SQL with `names` as $1, $2, ... (as `databases` numbers them: in sorted name
        order), and what `databases` needs to build Records of its result."""
        sql = compiled.string % {name: f"${i}" for i, name in enumerate(names, start=1)}
        result_columns = compiled._result_columns
        return sql, result_columns, create_column_maps(result_columns)

    def _template(
        self, statement: ClauseElement, page: PageStatement, where_key: Any
    ) -> _Template | None:
        """The compiled SQL of a page statement, and for each of its parameters, in `$n`
        order, where its value comes from: a named value of the page, or the position of a
        bound value in the filter's cache key. None when a parameter is neither (then the
        shape is not reusable and `databases` runs each statement)."""
        compiled = self._compiled(statement)
        if compiled is None:
            return None
        positions: dict[int, int] = {}
        if where_key is not None:
            for index, bind in enumerate(where_key.bindparams):
                positions.setdefault(id(bind), index)
        sources: dict[str, str | int] = {}
        for bind, name in compiled.bind_names.items():
            if bind.key in page.values:
                sources[name] = bind.key
            elif id(bind) in positions and not bind.callable:
                sources[name] = positions[id(bind)]
            else:
                return None
        names = sorted(sources)
        sql, result_columns, column_maps = self._numbered(compiled, names)
        recipe = tuple((name, sources[name]) for name in names)
        return sql, recipe, compiled._bind_processors, result_columns, column_maps

    def _compile(self, query: ClauseElement, cache_key: Any) -> _Shape | None:
        compiled = self._compiled(query, cache_key)
        if compiled is None:
            return None
        names = tuple(sorted(compiled.construct_params() or ()))
        sql, result_columns, column_maps = self._numbered(compiled, names)
        return compiled, sql, names, compiled._bind_processors, result_columns, column_maps


# How long a connection may stay parked with this worker before it goes back to the pool
# (where asyncpg's own idle lifetime and minimum size apply to it again).
PARK_SECONDS = 10.0


class Database:
    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None:
            raise ValueError("Settings.database_url must be resolved before opening the database")
        self.settings = settings
        self._pool = _Pool(
            settings.database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            # Seconds; asyncpg's own guard in case the server-side timeout never fires.
            command_timeout=settings.statement_timeout_ms / 1000 + 1,
            server_settings={
                "statement_timeout": str(settings.statement_timeout_ms),
                "application_name": "slotgraph",
            },
            reset=_keep_session,
        )
        backend = self._pool._backend
        self._dialect = backend._dialect
        # Never acquired: compiles the statements whose SQL cannot be reused, as `databases`
        # compiles them.
        self._compiler = backend.connection()
        self.listeners: list[StatementListener] = []
        # JSON columns stay with the json module: orjson would read an integer beyond 64
        # bits as a float, silently (tests/integration/test_records.py).
        self.statements = CompiledStatements(self._dialect)
        # Connections parked between requests, the most recent last, each with the number
        # of sweeps before it was parked (see `_lease`, `_park` and `_sweep_parked`).
        self._parked: list[tuple[asyncpg.Connection, int]] = []
        self._sweeps = 0
        self._waiting = 0  # sessions waiting for the pool
        self._sweep: asyncio.TimerHandle | None = None
        self._returning: set[asyncio.Task[None]] = set()
        self._closing = False
        self.park_seconds = PARK_SECONDS

    async def connect(self) -> None:
        self._closing = False
        await self._pool.connect()

    async def disconnect(self) -> None:
        # The pool waits for every connection to come back before it closes: parked ones first.
        self._closing = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        parked, self._parked = self._parked, []
        for connection, _ in parked:
            await self._release(connection)
        if self._returning:
            await asyncio.gather(*self._returning)
        await self._pool.disconnect()

    def session(self) -> RequestSession:
        return RequestSession(self, acquire_timeout_s=self.settings.pool_timeout_ms / 1000)

    def _notify(self, query: ClauseElement) -> None:
        for listener in self.listeners:
            listener(query)

    async def fetch_all(self, query: ClauseElement) -> Sequence[Row]:
        """One statement outside a request (CLI, readiness checks)."""
        session = self.session()
        try:
            return await session.fetch_all(query)
        finally:
            await session.close()

    def _compile(self, statement: ClauseElement) -> _Prepared:
        """A statement whose SQL cannot be reused, compiled as `databases` compiles it."""
        sql, args, result_columns = self._compiler._compile(statement)
        return sql, args, result_columns, create_column_maps(result_columns)

    def connection(self) -> _Connection:
        # A fresh connection object, not databases' per-Task one, straight from the pool
        # (not a parked one).
        return _Connection(self._pool, self._pool._backend)

    # A request takes one connection and gives it back at its end. asyncpg's pool costs
    # about as much CPU per request as the request's statement itself (a queue, a
    # timeout, a task shielding each release, an inactivity timer). A connection a
    # request leaves clean is parked with this worker instead, and the next request takes
    # it at once: the most recently used first, so a few stay busy and the rest go back
    # to the pool after one to two `park_seconds`. A connection is only parked when no
    # session waits for the pool (a waiter is never passed over), and only clean: open,
    # not in a transaction, not cancelling a statement, under asyncpg's query limit.
    # Anything else goes back through the pool, which resets, closes or replaces it.

    async def _lease(self, timeout_s: float | None) -> asyncpg.Connection:
        parked = self._parked
        while parked:
            connection, _ = parked.pop()
            if not _detached(connection):
                if not connection.is_closed():
                    return connection
                await self._release(connection)  # the pool finishes its clean-up
        self._waiting += 1
        try:
            async with asyncio.timeout(timeout_s):
                return cast(asyncpg.Connection, await self._pool._backend._pool.acquire())
        except TimeoutError:
            raise ServiceUnavailable(
                "No database connection became free in time (pool timeout); retry the request."
            ) from None
        except _CONNECT_FAILURES as error:
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from error
        finally:
            self._waiting -= 1

    async def _give_back(self, connection: asyncpg.Connection) -> None:
        if not self._park(connection):
            await self._release(connection)

    def _park(self, connection: asyncpg.Connection) -> bool:
        if self._waiting or self._closing or _detached(connection) or connection.is_closed():
            return False
        protocol = connection._protocol  # type: ignore[attr-defined]  # asyncpg's own state
        if (
            connection.is_in_transaction()
            or protocol._is_cancelling()
            or protocol.queries_count >= self._pool._backend._pool._max_queries
        ):
            return False
        # Stamped with the sweep count, not a clock reading (a system call here).
        self._parked.append((connection, self._sweeps))
        if self._sweep is None:
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(self.park_seconds, self._sweep_parked)
        return True

    def _sweep_parked(self) -> None:
        """Every `park_seconds` while connections are parked: those parked before the
        previous sweep, so unused for at least that long, go back to the pool."""
        self._sweeps += 1
        self._sweep = None
        loop = asyncio.get_running_loop()
        parked = self._parked
        stale = 0
        while stale < len(parked) and parked[stale][1] < self._sweeps - 1:
            stale += 1
        for connection, _ in parked[:stale]:
            task = loop.create_task(self._release(connection))
            self._returning.add(task)
            task.add_done_callback(self._returning.discard)
        del parked[:stale]
        if parked:
            self._sweep = loop.call_later(self.park_seconds, self._sweep_parked)

    async def _release(self, connection: asyncpg.Connection) -> None:
        try:
            await self._pool._backend._pool.release(connection)
        except Exception:
            # The pool discards a connection it cannot reset; the request is answered.
            log.exception("releasing a request's database connection failed")


def _detached(connection: asyncpg.Connection) -> bool:
    """Whether asyncpg has taken the connection back itself: it does when the server closes
    a pool connection, in use or parked (its proxy then refuses every call)."""
    return getattr(connection, "_con", connection) is None


@dataclass(frozen=True)
class Lookup:
    """A statement that looks rows up by key (`app.repositories.base.rows_by_keys` and
    `fetch_by_pairs`). Lookups a request starts in the same step of the event loop - the
    loaders of `nodes(ids:)`, one per node type, dispatch together - run as one statement
    (see `RequestSession.fetch_lookup`). Its fields are a page statement's (see
    `PageStatement`), but `build(tag)` names each parameter of `values` with
    `tag` appended, so that several lookups can share one statement."""

    shape: Hashable
    where: ColumnElement[bool] | None
    values: dict[str, Any]
    build: Callable[[str], Select[Any]]


@dataclass(frozen=True)
class PageStatement:
    """One page statement, built lazily: its shape, and this request's values.

    `shape` identifies the statement's structure apart from its values: the connection's
    source and columns, the order, the mode, which cursor values are null, what is counted
    or probed, whether it is nested. Its values are the named parameters in `values` (the
    cursor's values, the parent keys, LIMIT and OFFSET) and the bound values of `where`,
    whose own SQLAlchemy cache key completes the shape. So a statement of a known shape
    needs no building: its compiled SQL takes `values` and `where`'s values (see
    `CompiledStatements.prepare_page`). `build()` makes the statement itself, with
    these values, whenever it is needed (a new shape, statement listeners). Made by the
    pagination engine for pages, and here for lookups (alone, or several in one)."""

    shape: Hashable
    where: ColumnElement[bool] | None
    values: dict[str, Any]
    build: Callable[[], Select[Any] | CompoundSelect[Any]] = field(compare=False)


_LOOKUP_COLUMN = "_sg_lookup"


def _tag(index: int) -> str:
    """What the parameters of a combined statement's lookup `index` are suffixed with."""
    return f"_{index}"


def _lookups_statement(lookups: Sequence[Lookup]) -> Any:
    """One statement for several lookups: UNION ALL of one branch per lookup, each row
    tagged with its lookup's position. Every branch has every lookup's columns, its own
    and a typed NULL for each of the others', so the branches' types agree, and each
    column keeps its type (and its result processor) in the combined result."""
    statements = [lookup.build(_tag(i)) for i, lookup in enumerate(lookups)]
    subqueries = [statement.subquery(f"_sg_l{i}") for i, statement in enumerate(statements)]
    # A typed NULL per column of each lookup, in the column's type in the database (a
    # JSONB column read as its text is still JSONB to PostgreSQL, whose UNION resolves
    # the branches' types pairwise), read as the lookup reads the column itself.
    nulls = [
        [
            sa.type_coerce(sa.cast(sa.null(), _stored_type(selected)), column.type)
            for selected, column in zip(statement.selected_columns, subquery.c, strict=True)
        ]
        for statement, subquery in zip(statements, subqueries, strict=True)
    ]
    branches = []
    for i, own in enumerate(subqueries):
        columns: list[Any] = [sa.literal_column(str(i), sa.Integer()).label(_LOOKUP_COLUMN)]
        for j, subquery in enumerate(subqueries):
            for column, null in zip(subquery.c, nulls[j], strict=True):
                columns.append((column if j == i else null).label(f"_sg_{j}_{column.key}"))
        branches.append(sa.select(*columns).select_from(own))
    return sa.union_all(*branches)


def lookups_in(statement: Any) -> list[Any]:
    """The lookups a combined statement runs, each as `Lookup.build` made it (with its
    tagged parameters), for logs and tests; any other statement as it is."""
    if isinstance(statement, CompoundSelect) and statement.selects:
        first = statement.selects[0]
        if isinstance(first, Select) and _LOOKUP_COLUMN in first.selected_columns:
            return [
                cast(Select[Any], branch).get_final_froms()[0].element  # type: ignore[attr-defined]
                for branch in statement.selects
            ]
    return [statement]


def _stored_type(expression: Any) -> Any:
    """The type the database gives a selected expression: through labels and
    `type_coerce`, which change only how SQLAlchemy reads it."""
    while True:
        if isinstance(expression, Label):
            expression = expression.element
        elif isinstance(expression, TypeCoerce):
            expression = expression.clause
        else:
            return expression.type


_Maps = tuple[dict[Any, tuple[int, Any]], dict[int, tuple[int, Any]], dict[str, tuple[int, Any]]]
# Per combined result's columns (kept, so the id stays theirs): each lookup's view of its
# rows, its column names mapped to their positions in the combined row. Bounded.
_LOOKUP_VIEWS: dict[int, tuple[Any, list[_Maps]]] = {}


def _lookup_views(result_columns: Any, count: int) -> list[_Maps]:
    known = _LOOKUP_VIEWS.get(id(result_columns))
    if known is not None and known[0] is result_columns:
        return known[1]
    views: list[_Maps] = [({}, {}, {}) for _ in range(count)]
    for index, (name, _, _, datatype) in enumerate(result_columns):
        if name == _LOOKUP_COLUMN:
            continue
        lookup, _, column = name.removeprefix("_sg_").partition("_")
        by_name, by_position, _ = views[int(lookup)]
        by_name[column] = (index, datatype)
        by_position[len(by_position)] = (index, datatype)
    if len(_LOOKUP_VIEWS) >= 256:
        _LOOKUP_VIEWS.clear()
    _LOOKUP_VIEWS[id(result_columns)] = (result_columns, views)
    return views


# Per result's columns (kept, so the id stays theirs) and prefix: the maps of the columns
# without the prefix, and of those with it, by their names without it. Bounded.
_PREFIXED_VIEWS: dict[tuple[int, str], tuple[Any, tuple[_Maps, _Maps]]] = {}


def prefixed_views(result: Result, prefix: str) -> tuple[Result, Result]:
    """Two views of the rows of a statement that selects the columns of two queries, the
    second's labelled with `prefix`: an empty one that reads the first query's columns by
    their names, and one of every row that reads the second's by theirs."""
    result_columns = result._columns
    known = _PREFIXED_VIEWS.get((id(result_columns), prefix))
    if known is None or known[0] is not result_columns:
        own: _Maps = ({}, {}, {})
        other: _Maps = ({}, {}, {})
        for index, (name, _, _, datatype) in enumerate(result_columns):
            by_name, by_position, _ = other if name.startswith(prefix) else own
            by_name[name.removeprefix(prefix)] = (index, datatype)
            by_position[len(by_position)] = (index, datatype)
        if len(_PREFIXED_VIEWS) >= 256:
            _PREFIXED_VIEWS.clear()
        known = _PREFIXED_VIEWS[(id(result_columns), prefix)] = (result_columns, (own, other))
    own_maps, other_maps = known[1]
    return result.view([], own_maps), result.view(list(result), other_maps)


class SessionClosed(RuntimeError):
    """A statement arrived after its request had ended (e.g. a loader batch orphaned when an
    error nulled the whole response); it is refused rather than given a new connection."""


class RequestSession:
    """One request's single connection, taken on first use and given back at the end.

    Statements run one at a time (`_lock`), so `close()` taking the same lock waits for the
    one in flight; after it, no statement can take a connection again. Without this, a
    DataLoader batch still running when the response was complete would either break the
    release ("another operation is in progress") or take a connection nobody gives back.
    """

    def __init__(self, database: Database, *, acquire_timeout_s: float | None = None) -> None:
        self._database = database
        # asyncpg's connection itself, not `databases`' wrappers around it: statements are
        # already taken in turn here, so their locks and counters are only overhead.
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._closed = False
        self._acquire_timeout_s = acquire_timeout_s
        # The task running the statement in flight, so a request that ran out of time can
        # cancel it (asyncpg then cancels it on the server too).
        self._running: asyncio.Task[Any] | None = None
        self.statements = 0
        # The lookups started in this step of the event loop, while the first of them
        # waits for the rest (see `fetch_lookup`); None when none is gathering.
        self._lookups: list[tuple[Lookup, asyncio.Future[Sequence[Row]] | None]] | None = None

    async def _begin(self) -> asyncpg.Connection:
        """One statement's turn on the request's connection: taken in order, refused once
        the request has ended, counted and cancellable. `_end` gives the turn back."""
        await self._lock.acquire()
        try:
            if self._closed:
                raise SessionClosed("the request has ended")
            self._running = current_task()
            connection = self._connection
            if connection is None:
                connection = self._connection = await self._database._lease(self._acquire_timeout_s)
            self.statements += 1
            return connection
        except BaseException:
            self._end()
            raise

    def _end(self) -> None:
        self._running = None
        self._lock.release()

    async def fetch_all(self, query: ClauseElement) -> Sequence[Row]:
        connection = await self._begin()
        try:
            database = self._database
            database._notify(query)
            # The SQL text of a known shape is reused; anything else is compiled as
            # `databases` compiles it.
            prepared = database.statements.prepare(query) or database._compile(query)
            return await self._run(connection, prepared)
        finally:
            self._end()

    async def fetch_page(self, page: PageStatement) -> Result:
        """A connection page's statement (see `PageStatement`): built only for a new
        shape, or when statement listeners want to see it. Its rows as a `Result`: raw,
        with what reads them."""
        rows, prepared = await self._page_rows(page)
        _, _, result_columns, column_maps = prepared
        return Result(rows, result_columns, self._database._dialect, column_maps)

    async def fetch_records(self, page: PageStatement) -> Sequence[Row]:
        """`fetch_page`'s rows as `databases`' Records (for lookups, which read by name)."""
        rows, prepared = await self._page_rows(page)
        return self._records(rows, prepared)

    async def _page_rows(self, page: PageStatement) -> tuple[list[Any], _Prepared]:
        """A page statement's rows as asyncpg gives them, and what ran (see `fetch_page`)."""
        connection = await self._begin()
        try:
            database = self._database
            statement, prepared = database.statements.prepare_page(
                page, build=bool(database.listeners)
            )
            if statement is not None:
                database._notify(statement)
            if prepared is None:
                assert statement is not None
                prepared = database._compile(statement)
            return await self._run_raw(connection, prepared), prepared
        finally:
            self._end()

    async def _run(self, connection: asyncpg.Connection, prepared: _Prepared) -> Sequence[Row]:
        """The statement's rows as `databases`' Records."""
        return self._records(await self._run_raw(connection, prepared), prepared)

    def _records(self, rows: list[Any], prepared: _Prepared) -> list[Row]:
        _, _, result_columns, column_maps = prepared
        dialect = self._database._dialect
        return [_Record(row, result_columns, dialect, column_maps) for row in rows]

    async def _run_raw(self, connection: asyncpg.Connection, prepared: _Prepared) -> list[Any]:
        """The statement's rows as asyncpg gives them; database outages and timeouts become
        a retryable, masked service-unavailable error."""
        sql, args, _, _ = prepared
        try:
            rows: list[Any] = await connection.fetch(sql, *args)
        except _UNAVAILABLE as error:
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE) from error
        return rows

    async def fetch_lookup(self, lookup: Lookup) -> Sequence[Row]:
        """A lookup's rows. The first lookup of a step of the event loop waits one step for
        the others started in the same step (the loaders of one resolver dispatch
        together), then runs them all in one statement and hands each its rows; alone, it
        runs as it is. A failure of the statement is every lookup's."""
        gathering = self._lookups
        if gathering is not None:
            future: asyncio.Future[Sequence[Row]] = running_loop().create_future()
            gathering.append((lookup, future))
            return await future
        batch: list[tuple[Lookup, asyncio.Future[Sequence[Row]] | None]] = [(lookup, None)]
        self._lookups = batch
        try:
            try:
                await asyncio.sleep(0)
            finally:
                self._lookups = None
            if len(batch) == 1:
                page = PageStatement(
                    lookup.shape, lookup.where, lookup.values, partial(lookup.build, "")
                )
                return await self.fetch_records(page)
            found = await self._fetch_lookups([entry[0] for entry in batch])
        except BaseException as error:
            for _, waiting in batch[1:]:
                if waiting is not None and not waiting.done():
                    if isinstance(error, asyncio.CancelledError):
                        waiting.cancel()
                    else:
                        waiting.set_exception(error)
            raise
        for (_, waiting), rows in zip(batch[1:], found[1:], strict=True):
            if waiting is not None and not waiting.done():
                waiting.set_result(rows)
        return found[0]

    async def _fetch_lookups(self, lookups: Sequence[Lookup]) -> list[list[Row]]:
        """Several lookups in one statement (see `_lookups_statement`), compiled once per
        combination of shapes as any page statement is; each lookup's rows are Records
        that read its own columns of the combined row, by the names it selected."""
        values: dict[str, Any] = {}
        for index, lookup in enumerate(lookups):
            for name, value in lookup.values.items():
                values[name + _tag(index)] = value
        wheres = [lookup.where for lookup in lookups if lookup.where is not None]
        where = None if not wheres else wheres[0] if len(wheres) == 1 else sa.and_(*wheres)
        shape = ("lookups", *(lookup.shape for lookup in lookups))
        page = PageStatement(shape, where, values, partial(_lookups_statement, lookups))
        rows, prepared = await self._page_rows(page)
        result_columns = prepared[2]
        views = _lookup_views(result_columns, len(lookups))
        dialect = self._database._dialect
        found: list[list[Row]] = [[] for _ in lookups]
        for row in rows:
            index = row[0]
            found[index].append(_Record(row, result_columns, dialect, views[index]))
        return found

    def cancel(self) -> None:
        """Refuse further statements and cancel the one in flight, if any."""
        self._closed = True
        running = self._running
        if running is not None and running is not current_task():
            running.cancel()

    async def close(self) -> None:
        if self._connection is None and not self._lock.locked():
            # Nothing taken and nothing in flight (a statement in flight holds the lock).
            self._closed = True
            return
        async with self._lock:
            self._closed = True
            connection, self._connection = self._connection, None
        if connection is not None:
            await self._database._give_back(connection)
