"""What every table family's repository shares: one connection entry point, one batched
lookup by key. Each family declares a `ConnectionSpec`; the SQL comes from the one
pagination engine and the one filter engine."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import sqlalchemy as sa
from databases.backends.common.records import Record
from sqlalchemy.sql import ColumnElement, FromClause

from app.auth import Caller
from app.db import Lookup, PageStatement, RequestSession, Result, Row
from app.filters import Expression, FieldBuilder, array_of, entity_filter, no_nul
from app.pagination import (
    ConnectionQuery,
    Ordering,
    PageRequest,
    Parents,
    Slice,
    SortKey,
    build_select,
    build_select_with_child,
    keys_in_order,
    memoized,
    memoized_for,
    records_of,
    resolve_order,
)
from app.records import NOT_LOADED

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
else:
    DataclassInstance = object

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=DataclassInstance)


def everyone(_: Caller) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Reads:
    """How one result's rows become records of one type (see `from_row`)."""

    names: tuple[str, ...]  # the record fields the result has, in field order
    get: Callable[[Any], tuple[Any, ...]]  # their raw values from a row, in that order
    # (position, result processor) for the fields whose type has one
    processed: tuple[tuple[int, Any], ...]
    positional: bool  # `names` are the record's leading fields: cls(*values) builds it
    index: Mapping[str, int]  # the position of each name in `names`
    # Record fields without a default that the result does not have (a page that selects
    # only the columns its query reads), and what builds the record from the values of
    # `names` with NOT_LOADED in their places.
    missing: tuple[str, ...] = ()
    make: Callable[[Sequence[Any]], Any] | None = None
    # The record of a raw row, its values read by index in one generated call (None when a
    # value needs a result processor): no tuple of values per row, no second call.
    from_raw: Callable[[Any], Any] | None = None


# A row's column map; compared over a whole result in C (map/operator.is_), not in a
# generator expression.
_COLUMN_MAP = operator.attrgetter("_column_map")
_RAW = operator.attrgetter("_row")

_field_names: dict[type, tuple[str, ...]] = {}
# Record fields with a default: columns a statement selects only when the query asks for
# them (e.g. an agent's container count); absent from a row, the default stands.
_optional_fields: dict[type, frozenset[str]] = {}
# Keyed by the identity of a result's column map (shared by the rows of a result, and by
# the results of one compiled statement shape); the map is kept so its id stays its own.
# Bounded: cleared when it grows.
_reads: dict[tuple[type, int], tuple[Any, Any, _Reads | None]] = {}


def _fields_of(cls: type) -> tuple[tuple[str, ...], frozenset[str]]:
    names = _field_names.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)
        names = _field_names[cls] = tuple(f.name for f in fields)
        _optional_fields[cls] = frozenset(
            f.name for f in fields if f.default is not dataclasses.MISSING
        )
    return names, _optional_fields[cls]


def _plan_reads(cls: type, names: tuple[str, ...], row: Any) -> _Reads | None:
    """What `databases`' `Record.__getitem__` looks up on every access, once per result."""
    column_map = row._column_map
    optional = _optional_fields[cls]
    present: list[str] = []
    indexes: list[int] = []
    processed: list[tuple[int, Any]] = []
    missing: list[str] = []
    for name in names:
        entry = column_map.get(name)
        if entry is None:
            if name not in optional:
                missing.append(name)
            continue
        index, datatype = entry
        processor = datatype._cached_result_processor(row._dialect, None)
        if processor is not None:
            processed.append((len(present), processor))
        present.append(name)
        indexes.append(index)
    if not indexes:
        return None
    get: Callable[[Any], tuple[Any, ...]]
    if len(indexes) == 1:
        [only] = indexes

        def get(raw: Any) -> tuple[Any, ...]:
            return (raw[only],)

    else:
        get = operator.itemgetter(*indexes)
    return _Reads(
        tuple(present),
        get,
        tuple(processed),
        tuple(present) == names[: len(present)] and not missing,
        {name: position for position, name in enumerate(present)},
        tuple(missing),
        _maker(cls, names, present, missing) if missing else None,
        None if processed else _maker(cls, names, present, missing, indexes=indexes),
    )


def _maker(
    cls: type,
    names: tuple[str, ...],
    present: list[str],
    missing: list[str],
    converters: Mapping[str, Callable[[Any], Any]] | None = None,
    *,
    indexes: Sequence[int] | None = None,
) -> Callable[[Sequence[Any]], Any]:
    """`lambda values: cls(values[0], NOT_LOADED, convert(values[1]), ...)` for a record
    whose result has the `present` fields (in its order), lacks the `missing` ones, and
    has `converters` for some: one call per row, like `cls(*values)`. With `indexes` (each
    present field's column in the row), a function of the raw row itself:
    `lambda raw: cls(raw[3], NOT_LOADED, ...)`."""
    if indexes is not None:
        at = {name: indexes[position] for position, name in enumerate(present)}
    else:
        at = {name: position for position, name in enumerate(present)}
    namespace: dict[str, Any] = {"cls": cls, "NOT_LOADED": NOT_LOADED}
    arguments: list[str] = []
    keywords = False  # after an optional field that is absent, the rest go by name
    for name in names:
        if name in at or name in missing:
            if name in missing:
                value = "NOT_LOADED"
            elif converters and name in converters:
                namespace[f"c{at[name]}"] = converters[name]
                value = f"c{at[name]}(values[{at[name]}])"
            else:
                value = f"values[{at[name]}]"
            arguments.append(f"{name}={value}" if keywords else value)
        else:
            keywords = True
    source = f"def make(values):\n    return cls({', '.join(arguments)})\n"
    # The source is made of the record class's own field names, never of input.
    exec(compile(source, f"<record {cls.__name__}>", "exec"), namespace)  # noqa: S102
    make: Callable[[Sequence[Any]], Any] = namespace["make"]
    return make


def _reads_of(cls: type, names: tuple[str, ...], row: Row) -> _Reads | None:
    """How the rows of `row`'s result become records of `cls` (planned once per result
    shape), or None when each value must be read with `row[name]`."""
    if type(row) is not Record or not row._column_map or row._dialect.name != "postgresql":
        return None
    column_map = row._column_map
    key = (cls, id(column_map))
    cached = _reads.get(key)
    if cached is not None and cached[0] is column_map and cached[1] is row._dialect:
        return cached[2]
    if len(_reads) > 256:
        _reads.clear()
    reads = _plan_reads(cls, names, row)
    _reads[key] = (column_map, row._dialect, reads)
    return reads


class RecordReader(Generic[R]):
    """`from_row(cls, row, converters)` as a function of the row (a spec's `to_record`),
    and `many(rows)`: the records of one result's rows, with the result's reads looked up
    once instead of once per row (a page of 100 kernels and 300 allocations is 400 rows)."""

    __slots__ = ("cls", "converters")

    def __init__(
        self, cls: type[R], converters: Mapping[str, Callable[[Any], Any]] | None = None
    ) -> None:
        self.cls = cls
        self.converters = converters

    def __call__(self, row: Row) -> R:
        return from_row(self.cls, row, self.converters)

    def many(self, rows: Sequence[Row]) -> list[R]:
        """The records of rows of one result (they share its column map)."""
        if not rows:
            return []
        cls, converters = self.cls, self.converters
        first = rows[0]
        reads = _reads_of(cls, _fields_of(cls)[0], first)
        if reads is None:
            return [from_row(cls, row, converters) for row in rows]
        column_map = first._column_map
        if not all(map(operator.is_, map(_COLUMN_MAP, rows), repeat(column_map))):
            return [from_row(cls, row, converters) for row in rows]  # pragma: no cover
        return self._made(reads, list(map(_RAW, rows)))

    def of_result(self, result: Result, raws: Sequence[Any]) -> list[R]:
        """The records of raw rows `raws` of `result` (see app.db.Result): `many` without
        a Record around each row."""
        if not raws:
            return []
        cls, converters = self.cls, self.converters
        reads = _reads_of(cls, _fields_of(cls)[0], result.wrap(raws[0]))
        if reads is None:
            return [from_row(cls, result.wrap(raw), converters) for raw in raws]
        return self._made(reads, raws)

    def _made(self, reads: _Reads, raws: Sequence[Any]) -> list[R]:
        """The records of the raw rows of one result, with the result's reads."""
        cls, converters = self.cls, self.converters
        if converters:
            # Only the converters of columns this result has (an agents page without
            # systemInfo has no compute plugins to convert).
            converters = {name: c for name, c in converters.items() if name in reads.index}
        get = reads.get
        if converters and not reads.processed:
            convert = _converting(cls, reads, converters)
            return [convert(get(raw)) for raw in raws]
        if reads.processed:
            # Values to process (and convert): from_row's own steps, with the reads of the
            # result looked up once.
            return [_from_raw(cls, reads, raw, converters, {}) for raw in raws]
        # Nothing to process: each record straight from its raw row (`_Reads.from_raw`).
        assert reads.from_raw is not None
        return list(map(reads.from_raw, raws))


# Record makers that convert some columns (see `_converting`), by the identities of the
# result's reads and of the converters. Bounded.
_CONVERTING: dict[tuple[int, ...], tuple[tuple[Any, ...], Callable[[Sequence[Any]], Any]]] = {}


def _converting(
    cls: type[R], reads: _Reads, converters: Mapping[str, Callable[[Any], Any]]
) -> Callable[[Sequence[Any]], R]:
    """`_maker` for a result whose values `converters` turn into their fields' (a slot
    type's number format): the record of a row's values in one call, instead of
    `_from_raw`'s list copy and loop (a third of the records' cost on the slot-type list).
    One per result shape and set of converters."""

    def build() -> Callable[[Sequence[Any]], Any]:
        names = _fields_of(cls)[0]
        return _maker(cls, names, list(reads.names), list(reads.missing), converters)

    # The names and functions are the reader's own (the same objects every time).
    objects = (cls, reads, *converters, *converters.values())
    return cast(Callable[[Sequence[Any]], R], memoized_for(_CONVERTING, objects, build, 256))


def from_row(
    cls: type[R],
    row: Row,
    converters: Mapping[str, Callable[[Any], Any]] | None = None,
    **overrides: Any,
) -> R:
    """A record from a row whose column names are the record's field names; `converters`
    turn a column's value into its field's (e.g. a JSON column's dict into a record).

    `databases`' Record resolves the column and its result processor on every access
    (~5 µs per record field); a page of 250 slots reads ~1,900 of them. For its own Record
    type on PostgreSQL the lookup is done once per result (one C call then takes every
    value) and the values are processed exactly as `Record.__getitem__` processes them;
    anything else reads `row[name]`."""
    names, optional = _fields_of(cls)
    reads = _reads_of(cls, names, row)
    if reads is None:
        values = {}
        for name in names:
            if name in overrides:
                continue
            if name in optional:
                try:
                    values[name] = row[name]
                except KeyError:
                    continue  # not selected: the default stands
            else:
                values[name] = row[name]
        if converters:
            for name, convert in converters.items():
                if name in values:
                    values[name] = convert(values[name])
        return cls(**values, **overrides)
    return _from_raw(cls, reads, row._row, converters, overrides)


def _from_raw(
    cls: type[R],
    reads: _Reads,
    row: Any,
    converters: Mapping[str, Callable[[Any], Any]] | None,
    overrides: dict[str, Any],
) -> R:
    """`from_row` for the raw row (asyncpg's) of a `databases` Record, with the reads of
    its result."""
    raw: Any = reads.get(row)
    if reads.processed:
        raw = list(raw)
        for position, processor in reads.processed:
            if overrides and reads.names[position] in overrides:
                continue  # replaced below: not converted for nothing
            value = raw[position]
            # Record.__getitem__ on PostgreSQL: the processor only for these raw types.
            if isinstance(value, (int, str, float)):
                raw[position] = processor(value)
    if converters:
        if type(raw) is not list:
            raw = list(raw)
        for name, convert in converters.items():
            at = reads.index.get(name)
            if at is not None:
                raw[at] = convert(raw[at])
    if reads.make is not None and not overrides:
        made: R = reads.make(raw)
        return made
    if overrides or not reads.positional:
        fields = dict(zip(reads.names, raw, strict=True))
        fields.update(dict.fromkeys(reads.missing, NOT_LOADED))
        fields.update(overrides)
        return cls(**fields)
    return cls(*raw)


@dataclass(frozen=True)
class ConnectionSpec(Generic[T]):
    """How one kind of node is listed: its rows, orders, filters and record."""

    name: str  # binds cursors to this connection
    source: FromClause
    columns: Sequence[ColumnElement[Any]]
    sort_keys: Mapping[str, SortKey]
    tiebreak: Sequence[SortKey]
    default_order: Sequence[tuple[str, bool]]
    filter_type: str
    filter_fields: Mapping[str, FieldBuilder]
    to_record: Callable[[Row], T]
    parent_column: ColumnElement[Any] | None = None
    # Which rows a caller may see: a predicate added to every statement (None: all rows).
    scope: Callable[[Caller], ColumnElement[bool] | None] = everyone
    # Columns selected only when the query asks for the node field they answer, by that
    # field's GraphQL name (e.g. an agent's containerCount, counted in the page's own
    # statement instead of one more). Each column is labelled as its record field, which
    # has a default for when it is not selected.
    optional_columns: Mapping[str, ColumnElement[Any]] = dataclasses.field(default_factory=dict)
    # Per node field (GraphQL name), the record fields (column names) it reads; with them
    # a page selects only the columns of the fields the query selects, plus `always`, and
    # the record's other fields are NOT_LOADED. A field not listed here (or None) selects
    # every column. tests/api/test_columns.py holds every field to the same answer either
    # way.
    field_columns: Mapping[str, tuple[str, ...]] | None = None
    always: tuple[str, ...] = ()
    # Columns a lookup by key reads whatever is selected: the key it maps its rows back by
    # (a slot's agent and name), which a page of the same fields need not read.
    lookup_always: tuple[str, ...] = ()
    # Per node field that is a view of the record (a kernel's `lifecycle`, an agent's
    # `statusInfo`), the columns each of its own fields reads: a page whose query selects
    # `lifecycle { status createdAt }` reads 2 of its 5 columns (each column a page reads
    # and does not need cost ~0.3 us a row to decode).
    sub_field_columns: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None
    # lookup_columns' answers by the selected field names (a handful per document).
    _lookups: dict[frozenset[str], tuple[ColumnElement[Any], ...] | None] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )
    # columns_for's answers, likewise.
    _pages: dict[frozenset[str], tuple[ColumnElement[Any], ...]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def columns_for(self, node_fields: frozenset[str]) -> tuple[ColumnElement[Any], ...]:
        """The columns a page selects when its query selects `node_fields` on its nodes:
        the columns those fields read, or every column, and the optional columns they
        need, in a fixed order. Worked out once per set of fields."""
        return memoized(self._pages, node_fields, lambda: self._columns_for(node_fields), 256)

    def _columns_for(self, node_fields: frozenset[str]) -> tuple[ColumnElement[Any], ...]:
        columns = tuple(self.columns)
        if self.field_columns is not None:
            needed: set[str] | None = set(self.always)
            for name in node_fields:
                if name == "__typename" or "." in name:
                    continue
                read = self._field_reads(name, node_fields)
                if read is None:
                    needed = None
                    break
                assert needed is not None
                needed.update(read)
            if needed is not None:
                columns = tuple(column for column in columns if column.name in needed)
        extra = tuple(
            column for name, column in self.optional_columns.items() if name in node_fields
        )
        return (*columns, *extra) if extra else columns

    def _field_reads(self, name: str, node_fields: frozenset[str]) -> tuple[str, ...] | None:
        """The columns node field `name` reads: those of the fields selected on it
        (`node_fields` names them "name.field") when it is a view with
        `sub_field_columns` and each of them is mapped, else all of the field's."""
        assert self.field_columns is not None
        read = self.field_columns.get(name)
        subs = self.sub_field_columns.get(name) if self.sub_field_columns else None
        if read is None or subs is None:
            return read
        prefix = name + "."
        chosen = [field[len(prefix) :] for field in node_fields if field.startswith(prefix)]
        if not chosen or any(field != "__typename" and field not in subs for field in chosen):
            return read
        return tuple(column for field in chosen if field != "__typename" for column in subs[field])

    def lookup_columns(self, node_fields: frozenset[str]) -> tuple[ColumnElement[Any], ...] | None:
        """`columns_for` for a lookup by key (`node`, `nodes`, `kernelV2`): None when that is
        every column, which the request's shared loader of the type selects anyway."""

        def narrowed() -> tuple[ColumnElement[Any], ...] | None:
            columns = self.columns_for(node_fields)
            if self.lookup_always:
                chosen = {column.name for column in columns} | set(self.lookup_always)
                optional = tuple(c for c in columns if all(c is not own for own in self.columns))
                columns = (*(c for c in self.columns if c.name in chosen), *optional)
            every = len(columns) == len(self.columns) and all(
                map(operator.is_, columns, self.columns)
            )
            return None if every else columns

        return memoized(self._lookups, node_fields, narrowed, 256)

    def resolve_order(self, requested: Sequence[tuple[str, bool]]) -> Ordering:
        return resolve_order(
            self.name, requested, self.sort_keys, self.tiebreak, self.default_order
        )

    def build_filter(self, spec: Mapping[str, Any] | None) -> Expression | None:
        return entity_filter(spec, self.filter_fields, self.filter_type)

    def query(
        self,
        caller: Caller,
        where: Expression | None,
        ordering: Ordering,
        page: PageRequest,
        *,
        want_count: bool,
        want_opposite: bool,
        parents: Sequence[Any] | None = None,
        want_cursors: bool = True,
        want_edge_cursors: bool = True,
        columns: Sequence[ColumnElement[Any]] | None = None,
    ) -> ConnectionQuery:
        """What one page per parent key (or one page for a root connection) needs; rows the
        caller may not see are excluded from the page and from `count`."""
        visible = self.scope(caller)
        if visible is not None:
            where = visible if where is None else _both(visible, where)
        scope = None
        if parents is not None:
            assert self.parent_column is not None, f"{self.name} is not a nested connection"
            scope = Parents(self.parent_column, parents)
        return ConnectionQuery(
            self.source,
            self.columns if columns is None else columns,
            where,
            ordering,
            page,
            want_count,
            want_opposite,
            scope,
            want_cursors,
            want_edge_cursors,
        )

    async def fetch(self, session: RequestSession, query: ConnectionQuery) -> list[Slice]:
        """The slices of `query` (see `query`): one statement."""
        statement, shape = build_select(query, self.to_record)
        return shape(await session.fetch_page(statement))

    async def fetch_with_child(
        self,
        session: RequestSession,
        query: ConnectionQuery,
        child: ConnectionSpec[Any],
        child_query: ConnectionQuery,
    ) -> tuple[list[Slice], dict[Any, Slice]]:
        """The slices of `query`, and the first page of the nested connection `child` of
        each of its nodes, by the node's `id`: one statement (see
        app.pagination.build_select_with_child)."""
        statement, shape = build_select_with_child(
            query, self.to_record, child_query, child.to_record, "id"
        )
        return shape(await session.fetch_page(statement))


# Scope and filter combined, by the identities of the two (each shared by many requests:
# see Caller.kernel_scope and app.resolvers.connection._filter). Bounded.
_BOTH: dict[tuple[int, ...], tuple[tuple[Any, ...], ColumnElement[bool]]] = {}


def _both(visible: ColumnElement[bool], where: ColumnElement[bool]) -> ColumnElement[bool]:
    """`sa.and_(visible, where)`, one expression per pair: a new one took ~6 us to build
    and ~13 us more for its SQLAlchemy cache key, on every page of a scoped caller."""
    return memoized_for(_BOTH, (visible, where), lambda: sa.and_(visible, where))


async def rows_by_keys(
    session: RequestSession,
    columns: Sequence[ColumnElement[Any]],
    key: ColumnElement[Any],
    keys: Sequence[Any],
    *,
    visible: ColumnElement[bool] | None = None,
) -> Sequence[Row]:
    """The rows whose `key` is one of `keys` (and `visible`): one statement, with the other
    lookups of this step of the event loop (see RequestSession.fetch_lookup).

    Its SQL is compiled once per columns, key and visibility, like a page's (see
    PageStatement): the keys are its one named parameter, so no statement is built per
    request (building one and its cache key took ~50-80 µs, five times for `nodes`)."""
    no_nul(list(keys))  # checked here: the statement that would check it is not built

    def build(tag: str = "") -> sa.Select[Any]:
        statement = sa.select(*columns).where(
            key == sa.any_(array_of(key.type, keys, name=_KEYS[0] + tag))
        )
        return statement if visible is None else statement.where(visible)

    shape = ("keys", tuple(map(id, columns)), id(key), visible is not None)
    values = {_KEYS[0]: list(keys)}
    return await session.fetch_lookup(Lookup(shape, visible, values, build))


async def result_by_keys(
    session: RequestSession,
    columns: Sequence[ColumnElement[Any]],
    key: ColumnElement[Any],
    keys: Sequence[Any],
    *,
    order_by: Sequence[ColumnElement[Any]],
) -> Result:
    """Every row of each of `keys` (distinct values of `key`): the keys' rows in the keys'
    order, each key's in `order_by` (columns among `columns`). A statement of its own, its
    rows as asyncpg gives them (see app.db.Result), one index seek per key: `unnest(keys)
    WITH ORDINALITY` joined LATERAL to the rows of each, whatever the planner estimates.
    (As `key = ANY(keys)`, a prepared statement's custom plans, its first five executions
    on each connection, scanned the whole table and tested each row against every key:
    0.69 ms for the slots of 50 agents, where its generic plan's index scan took 0.18.)"""
    no_nul(list(keys))  # checked here: the statement that would check it is not built

    def build() -> sa.Select[Any]:
        wanted = keys_in_order(key, keys, _KEYS[0], "wanted")
        # Ordered inside too: a subquery without an ORDER BY (or LIMIT, or OFFSET) is
        # pulled up into a plain join, which PostgreSQL answered with a hash join over the
        # whole table again.
        found = sa.select(*columns).where(key == wanted.c.key).order_by(*order_by).lateral("found")
        return (
            sa.select(found)
            .select_from(wanted.join(found, sa.true()))
            .order_by(wanted.c.ord, *(found.c[column.name] for column in order_by))
        )

    shape = ("keys in order", tuple(map(id, columns)), id(key), tuple(map(id, order_by)))
    values = {_KEYS[0]: list(keys)}
    return await session.fetch_page(PageStatement(shape, None, values, build))


async def fetch_by_keys(
    session: RequestSession,
    columns: Sequence[ColumnElement[Any]],
    key: ColumnElement[Any],
    keys: Sequence[K],
    to_record: Callable[[Row], T],
    record_key: Callable[[T], K],
    visible: ColumnElement[bool] | None = None,
) -> list[T | None]:
    """Records for `keys`, in their order, None where absent or not visible: one statement
    (see `rows_by_keys`)."""
    rows = await rows_by_keys(session, columns, key, keys, visible=visible)
    found = {record_key(record): record for record in records_of(to_record, rows)}
    return [found.get(k) for k in keys]


# The named parameters of a lookup statement: the keys (of each key column).
_KEYS = ("_sg_keys", "_sg_keys_b")


async def fetch_by_pairs(
    session: RequestSession,
    source: FromClause,
    columns: Sequence[ColumnElement[Any]],
    key: tuple[ColumnElement[Any], ColumnElement[Any]],
    pairs: Sequence[tuple[Any, Any]],
    to_record: Callable[[Row], T],
    record_key: Callable[[T], tuple[Any, Any]],
    visible: ColumnElement[bool] | None = None,
) -> list[T | None]:
    """Records for composite keys, in their order, None where absent or not visible: one
    statement with one array parameter per key column (`source` joins what `visible` needs),
    compiled once per shape as `fetch_by_keys`'s."""
    firsts, seconds = [p[0] for p in pairs], [p[1] for p in pairs]
    no_nul(firsts)
    no_nul(seconds)

    def build(tag: str) -> sa.Select[Any]:
        wanted = (
            sa.func.unnest(
                array_of(key[0].type, firsts, name=_KEYS[0] + tag),
                array_of(key[1].type, seconds, name=_KEYS[1] + tag),
            )
            .table_valued("a", "b")
            .render_derived()
            .alias("wanted")
        )
        statement = (
            sa.select(*columns)
            .select_from(wanted)
            .join(source, sa.and_(key[0] == wanted.c.a, key[1] == wanted.c.b))
        )
        return statement if visible is None else statement.where(visible)

    shape = ("pairs", id(source), tuple(map(id, columns)), *map(id, key), visible is not None)
    values = {_KEYS[0]: firsts, _KEYS[1]: seconds}
    rows = await session.fetch_lookup(Lookup(shape, visible, values, build))
    found = {record_key(record): record for record in records_of(to_record, rows)}
    return [found.get(p) for p in pairs]
