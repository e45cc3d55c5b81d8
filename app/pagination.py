"""The one pagination engine every connection uses. Pure: no I/O, no GraphQL.

validate arguments -> resolve the order (with the unique tiebreaker) -> decode the cursor
(bound to that order) -> build one SELECT with a keyset predicate and n+1 rows -> shape the
fetched rows into a slice with exact page info.

Three modes, exactly one per request: forward (`first`/`after`), backward (`last`/`before`)
and offset (`limit`/`offset`). `orderBy` works in all of them. Cursors carry the order they
were made for and the row's order-key values; paging by cursor is a seek, never an OFFSET.

NULL placement is PostgreSQL's default (last ascending, first descending), so ORDER BY uses
plain ASC/DESC and matching indexes; the keyset predicate spells the NULL cases out so a
walk over a nullable key visits every row exactly once.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import enum
import operator
import re
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, FromClause, Select

from app.amounts import in_range
from app.db import PageStatement, Result, prefixed_views
from app.errors import InvalidParameters
from app.filters import array_of

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

CURSOR_VERSION = 1
# Integer order keys are int4 columns.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_SIGNATURE = re.compile(r"[A-Za-z0-9]+\[[A-Z_]+:(ASC|DESC)(,[A-Z_]+:(ASC|DESC))*\]")


class Mode(enum.Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    OFFSET = "offset"


@dataclass(frozen=True, slots=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class PageRequest:
    mode: Mode
    size: int
    offset: int = 0
    cursor: str | None = None


def _check_size(name: str, value: int, max_size: int, hint: str) -> None:
    if value <= 0:
        raise InvalidParameters(f"`{name}` must be a positive number, got {value}.")
    if value > max_size:
        raise InvalidParameters(f"`{name}` must be at most {max_size}, got {value}; {hint}.")


def validate_page(args: PageArgs, *, default_size: int, max_size: int) -> PageRequest:
    forward = args.first is not None or args.after is not None
    backward = args.last is not None or args.before is not None
    offset_mode = args.limit is not None or args.offset is not None
    if forward + backward + offset_mode > 1:
        used = [
            name
            for name in ("first", "after", "last", "before", "limit", "offset")
            if getattr(args, name) is not None
        ]
        raise InvalidParameters(
            "Use one pagination mode: `first`/`after` (forward), `last`/`before` (backward) "
            f"or `limit`/`offset`; this request mixes {', '.join(f'`{u}`' for u in used)}."
        )
    if backward:
        if args.last is not None:
            _check_size("last", args.last, max_size, "page backward with `before`")
        _check_cursor_text("before", args.before)
        return PageRequest(Mode.BACKWARD, args.last or default_size, cursor=args.before)
    if offset_mode:
        if args.limit is not None:
            _check_size("limit", args.limit, max_size, "page on with `offset`")
        if args.offset is not None and args.offset < 0:
            raise InvalidParameters(f"`offset` must be zero or more, got {args.offset}.")
        return PageRequest(Mode.OFFSET, args.limit or default_size, offset=args.offset or 0)
    if args.first is not None:
        _check_size("first", args.first, max_size, "page on with `after`")
    _check_cursor_text("after", args.after)
    return PageRequest(Mode.FORWARD, args.first or default_size, cursor=args.after)


def _check_cursor_text(name: str, cursor: str | None) -> None:
    if cursor is not None and not cursor:
        raise InvalidParameters(
            f"`{name}` is an empty string; pass a cursor from a previous page or leave it out."
        )


# --- ordering ---------------------------------------------------------------------------


class Kind(enum.Enum):
    """How an order key's values travel inside a cursor."""

    STRING = "string"
    INT = "int"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    UUID = "uuid"
    BOOL = "bool"


@dataclass(frozen=True)
class SortKey:
    name: str  # the OrderField enum value, e.g. "RANK"
    column: ColumnElement[Any]
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True)
class OrderTerm:
    key: SortKey
    descending: bool

    def flipped(self) -> OrderTerm:
        return OrderTerm(self.key, not self.descending)


@dataclass(frozen=True)
class Ordering:
    connection: str
    terms: tuple[OrderTerm, ...]

    @cached_property
    def signature(self) -> str:
        body = ",".join(f"{t.key.name}:{'DESC' if t.descending else 'ASC'}" for t in self.terms)
        return f"{self.connection}[{body}]"


def resolve_order(
    connection: str,
    requested: Sequence[tuple[str, bool]],
    keys: Mapping[str, SortKey],
    tiebreak: Sequence[SortKey],
    default: Sequence[tuple[str, bool]],
) -> Ordering:
    """Requested (field, descending) terms in list order, then the unique tiebreaker.

    The tiebreaker follows the direction of the last term, so an index on
    (key, tiebreaker) serves both directions.
    """
    chosen = list(requested) or list(default)
    seen: set[str] = set()
    terms: list[OrderTerm] = []
    for name, descending in chosen:
        if name in seen:
            raise InvalidParameters(
                f"`orderBy` names {name} more than once; list each field at most once."
            )
        seen.add(name)
        terms.append(OrderTerm(keys[name], descending))
    last_descending = terms[-1].descending if terms else False
    for key in tiebreak:
        if key.name not in seen:
            terms.append(OrderTerm(key, last_descending))
    return Ordering(connection, tuple(terms))


# --- cursors ----------------------------------------------------------------------------


def _encode_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind is Kind.DECIMAL:
        return str(value)
    if kind is Kind.DATETIME:
        return value.isoformat()
    if kind is Kind.UUID:
        return str(value)
    return value


def _decode_value(key: SortKey, value: Any) -> Any:
    if value is None:
        if not key.nullable:
            raise ValueError(f"{key.name} cannot be null")
        return None
    kind = key.kind
    if kind is Kind.STRING and isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{key.name} contains a NUL character")
        return value
    if kind is Kind.INT and isinstance(value, int) and not isinstance(value, bool):
        if not INT32_MIN <= value <= INT32_MAX:
            raise ValueError(f"{key.name} is out of range")
        return value
    if kind is Kind.BOOL and isinstance(value, bool):
        return value
    if kind is Kind.DECIMAL and isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{key.name} is not a number") from None
        if not in_range(number):
            raise ValueError(f"{key.name} is out of range")
        return number
    if kind is Kind.DATETIME and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError(f"{key.name} has no time zone")
        return moment
    if kind is Kind.UUID and isinstance(value, str):
        return uuid.UUID(value)
    raise ValueError(f"{key.name} has a value of the wrong type")


def encode_cursor(ordering: Ordering, values: Sequence[Any]) -> str:
    payload = [
        CURSOR_VERSION,
        ordering.signature,
        [_encode_value(t.key.kind, v) for t, v in zip(ordering.terms, values, strict=True)],
    ]
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode("ascii").rstrip("=")


# Cursors decoded before, by cursor and order: a request decodes its cursor twice (to
# refuse a bad one before any SQL, then to build the statement), and clients page from the
# same cursor again. Decoding is pure; a bad cursor raises every time.
_DECODED: dict[tuple[str, str], tuple[Any, ...]] = {}


def decode_cursor(cursor: str, ordering: Ordering) -> tuple[Any, ...]:
    """The cursor's values, one per term of `ordering`; InvalidParameters for a cursor that
    is malformed or made for another order."""
    return memoized(
        _DECODED, (cursor, ordering.signature), lambda: _decode_cursor(cursor, ordering)
    )


def _decode_cursor(cursor: str, ordering: Ordering) -> tuple[Any, ...]:
    malformed = InvalidParameters(
        f"The cursor {cursor!r} is not valid: pass a cursor exactly as a previous page "
        "returned it, or leave `after`/`before` out to start from the beginning."
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, UnicodeError):
        raise malformed from None
    if (
        not isinstance(payload, list)
        or len(payload) != 3
        or payload[0] != CURSOR_VERSION
        or not isinstance(payload[1], str)
        or not isinstance(payload[2], list)
    ):
        raise malformed
    if not _SIGNATURE.fullmatch(payload[1]):
        raise malformed
    if payload[1] != ordering.signature:
        raise InvalidParameters(
            f"The cursor {cursor!r} was made for another order ({payload[1]}), but this request "
            f"orders by {ordering.signature}. Use the `orderBy` the cursor was made with, or "
            "leave `after`/`before` out to start again in the new order."
        )
    if len(payload[2]) != len(ordering.terms):
        raise malformed
    try:
        return tuple(
            _decode_value(term.key, value)
            for term, value in zip(ordering.terms, payload[2], strict=True)
        )
    except (ValueError, TypeError, OverflowError):
        raise malformed from None


# --- SQL --------------------------------------------------------------------------------


def _after_term(term: OrderTerm, value: Any) -> list[ColumnElement[bool]]:
    """Rows strictly after `value` on this one term (ASC NULLS LAST / DESC NULLS FIRST), as
    disjoint conditions that each bound one index range."""
    column = term.key.column
    if term.descending:
        return [column.is_not(None) if value is None else column < value]
    if value is None:
        return []
    after: list[ColumnElement[bool]] = [column > value]
    if term.key.nullable:
        after.append(column.is_(None))
    return after


def _equal_term(term: OrderTerm, value: Any) -> ColumnElement[bool]:
    column = term.key.column
    return column.is_(None) if value is None else column == value


def keyset_branches(terms: Sequence[OrderTerm], values: Sequence[Any]) -> list[ColumnElement[bool]]:
    """Rows strictly after the cursor row in the order of `terms`, as disjoint conjunctions.

    `values` are the cursor's values, or bound parameters carrying them (None stays None: it
    decides the shape of the predicate). Each branch is an equality prefix and one range,
    which a composite index on the order columns serves as a seek; an OR of them would not
    be (PostgreSQL falls back to scanning the index from its start and filtering).

    A tail of terms in one direction whose first value is not null and whose other keys are
    never null is one row-value comparison (`(a, b) > ($1, $2)`): one seek where the
    term-by-term form needs one per term, and a statement PostgreSQL plans in about half
    the time (a deep kernel page ordered by a nullable `created_at`: 3 branches, 0.25 ms of
    planning; 2 branches, 0.1 ms). A row comparison is unknown, so false, where the tail's
    first column is null: those rows are the separate `IS NULL` branch of an ascending
    nullable key, and before the cursor in a descending one.
    """
    merge = _row_comparison_tail(terms, values)
    branches: list[ColumnElement[bool]] = []
    for i, term in enumerate(terms):
        prefix = [_equal_term(t, v) for t, v in zip(terms[:i], values[:i], strict=True)]
        if i == merge:
            left = sa.tuple_(*(t.key.column for t in terms[i:]))
            right = sa.tuple_(
                *(
                    v if isinstance(v, sa.BindParameter) else sa.literal(v, type_=t.key.column.type)
                    for t, v in zip(terms[i:], values[i:], strict=True)
                )
            )
            branches.append(sa.and_(*prefix, left < right if term.descending else left > right))
            if term.key.nullable and not term.descending:
                branches.append(sa.and_(*prefix, term.key.column.is_(None)))
            break
        branches.extend(sa.and_(*prefix, after) for after in _after_term(term, values[i]))
    return branches


def _row_comparison_tail(terms: Sequence[OrderTerm], values: Sequence[Any]) -> int | None:
    """Where the tail that one row comparison covers starts (see keyset_branches), or None
    when no tail of two or more terms qualifies."""
    for start in range(len(terms) - 1):
        tail = terms[start:]
        if (
            values[start] is not None
            and len({t.descending for t in tail}) == 1
            and not any(t.key.nullable for t in tail[1:])
        ):
            return start
    return None


@dataclass(frozen=True)
class Parents:
    """The parent set of a nested connection: one page per key, all in one statement."""

    column: ColumnElement[Any]  # the child's column that points at its parent
    keys: Sequence[Any]
    # Instead of keys, the rows of a statement the pages hang on (see
    # build_select_with_child), and its column that `column` points at.
    driver: FromClause | None = None
    driver_key: ColumnElement[Any] | None = None


@dataclass(frozen=True)
class ConnectionQuery:
    """What one connection page needs; `where` holds visibility and filter, `parents` the
    scope of a nested connection (None for a root connection)."""

    source: FromClause
    columns: Sequence[ColumnElement[Any]]
    where: ColumnElement[bool] | None
    ordering: Ordering
    page: PageRequest
    want_count: bool = False
    want_opposite: bool = False  # hasPreviousPage when forward, hasNextPage when backward
    parents: Parents | None = None
    # False when the query selects no cursor (edges.cursor, pageInfo.startCursor/endCursor):
    # encoding one per edge is then work for nothing, and the slice carries None instead.
    want_cursors: bool = True
    # False when only pageInfo's cursors are selected: the first and the last edge get
    # theirs, the others None (nobody reads them).
    want_edge_cursors: bool = True


# One page as its connection field answers it: {"edges": [{"cursor": str or None when not
# wanted, "node": record}, ...], "page_info": {...}, "count": int or None}. Built once, as
# the answer, not as a page object that each field's resolver then turned into one.
Slice = dict[str, Any]


def _answer(
    edges: list[dict[str, Any]], has_next: bool, has_previous: bool, total: int | None
) -> Slice:
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": has_next,
            "has_previous_page": has_previous,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": edges[-1]["cursor"] if edges else None,
        },
        "count": total,
    }


_KEY = "_pk{}"
_TOTAL = "_total"
_OPPOSITE = "_opposite"
# A constant 1 on every row of a nested page: NULL where the outer join found none.
_ROW = "_row"
_PARENT = "_parent"
# The named parameters of a page statement; every other parameter is the filter's.
_CURSOR = "_sg_cursor_{}"
_PARENTS = "_sg_parents"
_OFFSET = "_sg_offset"

Shaper = Callable[[Result], list[Slice]]


def records_of(to_record: Callable[[Any], T], rows: Sequence[Any]) -> list[T]:
    """The records of one result's rows: at once with a reader that has `many` (see
    app.repositories.base.RecordReader), else one call per row."""
    many: Callable[[Sequence[Any]], list[T]] | None = getattr(to_record, "many", None)
    return many(rows) if many is not None else [to_record(row) for row in rows]


def records_of_result(
    to_record: Callable[[Any], T], result: Result, raws: Sequence[Any]
) -> list[T]:
    """`records_of` for raw rows `raws` of `result` (see app.db.Result)."""
    of_result: Callable[[Result, Sequence[Any]], list[T]] | None = getattr(
        to_record, "of_result", None
    )
    if of_result is not None:
        return of_result(result, raws)
    return [to_record(result.wrap(raw)) for raw in raws]


def memoized(memo: dict[K, V], key: K, build: Callable[[], V], size: int = 4096) -> V:
    """`memo[key]`, built and kept on first use: for values that depend on the key alone
    and are immutable, shared by requests. A build that raises keeps nothing. Bounded:
    cleared when full."""
    try:
        return memo[key]
    except KeyError:
        pass
    value = build()
    if len(memo) >= size:
        memo.clear()
    memo[key] = value
    return value


def memoized_for(
    memo: dict[tuple[int, ...], tuple[tuple[Any, ...], V]],
    objects: tuple[Any, ...],
    build: Callable[[], V],
    size: int = 4096,
) -> V:
    """`memoized` for a value that depends on `objects` by identity (immutable objects
    shared by requests, such as a filter expression): keyed by their ids, and the entry
    keeps them, so an id cannot be taken by another object meanwhile."""
    key = tuple(map(id, objects))
    hit = memo.get(key)
    if hit is not None and all(map(operator.is_, hit[0], objects)):
        return hit[1]
    value = build()
    if len(memo) >= size:
        memo.clear()
    memo[key] = (objects, value)
    return value


def keys_in_order(
    column: ColumnElement[Any], keys: Sequence[Any], name: str, alias: str
) -> FromClause:
    """`unnest(keys) WITH ORDINALITY AS alias(key, ord)`: `keys`, values of `column`, as one
    named array parameter `name`, each with its position. Joined LATERAL to what each key
    selects, it is one index seek per key, in the keys' order."""
    return (
        sa.func.unnest(array_of(column.type, keys, name=name))
        .table_valued("key", with_ordinality="ord")
        .render_derived()
        .alias(alias)
    )


def _where(*parts: ColumnElement[bool] | None) -> list[ColumnElement[bool]]:
    return [p for p in parts if p is not None]


# _key_columns' answers, by the identities of the page's columns and ordering (both shared
# by the requests of a document: app.resolvers.connection keeps each ordering). Bounded.
_KEY_COLUMNS: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}


def _key_columns(
    query: ConnectionQuery,
) -> tuple[tuple[str, ...], tuple[ColumnElement[Any], ...]]:
    """The result column of each sort term (for cursors, and a nested page's order), and the
    columns to select for them beyond `query.columns`: a term whose column the page selects
    anyway is read there (`used`, `created_at`, `id`) instead of being selected twice, which
    cost PostgreSQL and asyncpg a second value per row (a numeric's decoding, on the agents'
    slot pages); any other term gets a column of its own, `_pk<i>`. Worked out once per
    set of columns and ordering."""
    columns = query.columns

    def build() -> tuple[tuple[str, ...], tuple[ColumnElement[Any], ...]]:
        names: list[str] = []
        extra: list[ColumnElement[Any]] = []
        selected = [getattr(column, "name", None) for column in columns]
        for i, term in enumerate(query.ordering.terms):
            column = term.key.column
            name = getattr(column, "name", None)
            if (
                isinstance(name, str)
                and selected.count(name) == 1
                and any(column is chosen for chosen in columns)
            ):
                names.append(name)
            else:
                names.append(_KEY.format(i))
                extra.append(column.label(names[-1]))
        return tuple(names), tuple(extra)

    result: tuple[tuple[str, ...], tuple[ColumnElement[Any], ...]] = memoized_for(
        _KEY_COLUMNS, (columns, query.ordering), build, 1024
    )
    return result


@dataclass(slots=True)
class _Planned:
    """What `build_select` works out from a query before building any SQL."""

    cursor_values: tuple[Any, ...] | None
    probe_opposite: bool  # the opposite direction's flag needs a probe
    nested: bool  # a page per parent row: parents, or a row to hang a count or probe on
    values: dict[str, Any]  # the statement's named parameters
    shape: Hashable  # the statement's structure apart from its values (see PageStatement)


def _planned(query: ConnectionQuery) -> _Planned:
    ordering, page, parents = query.ordering, query.page, query.parents
    cursor_values = decode_cursor(page.cursor, ordering) if page.cursor is not None else None

    # The opposite direction's flag needs a probe: rows at or before the cursor, or, for an
    # offset page, any matching row at all (it then lies before the page).
    if page.mode is Mode.OFFSET:
        probe_opposite = query.want_opposite and page.offset > 0
    else:
        probe_opposite = query.want_opposite and cursor_values is not None
    nested = parents is not None or query.want_count or probe_opposite

    values: dict[str, Any] = {}
    if page.offset > 0:
        values[_OFFSET] = page.offset
    if cursor_values is not None:
        for i, value in enumerate(cursor_values):
            if value is not None:
                values[_CURSOR.format(i)] = value
    if parents is not None and parents.driver is None:
        values[_PARENTS] = list(parents.keys)
    shape = (
        id(query.source),
        tuple(map(id, query.columns)),
        ordering.signature,
        page.mode,
        page.size,
        page.offset > 0,
        None if cursor_values is None else tuple(v is None for v in cursor_values),
        query.want_count,
        probe_opposite,
        None if parents is None else id(parents.column),
    )
    return _Planned(cursor_values, probe_opposite, nested, values, shape)


def build_select(
    query: ConnectionQuery, to_record: Callable[[Any], T]
) -> tuple[PageStatement, Shaper]:
    """One statement for the pages of every parent (and counts, when selected), and the
    shaper that turns its rows into one slice per parent key, in the keys' order (a root
    connection is one slice).

    A nested connection joins `unnest(parent keys) WITH ORDINALITY` LATERAL to its page
    query, so each parent gets its own keyset seek, ORDER BY and LIMIT n+1 on an index, and
    per-parent counts are correlated subqueries: the statement count does not grow with the
    number of parents.
    """
    planned = _planned(query)

    def build() -> Select[Any]:
        return _statement(query, planned.cursor_values, planned.probe_opposite, planned.nested)

    statement = PageStatement(planned.shape, query.where, planned.values, build)
    groups = len(query.parents.keys) if query.parents is not None else 1
    return statement, _shaper(query, to_record, planned.probe_opposite, planned.nested, groups)


# The prefix of a child page's columns in a statement that fetches a page with each of its
# rows' own pages (see `build_select_with_child`).
_CHILD = "_child_"
# Combined wheres of a page and its child pages, by the identities of the two. Bounded.
_COMBINED_WHERES: dict[tuple[int, ...], tuple[tuple[Any, ...], ColumnElement[bool]]] = {}

ChildShaper = Callable[[Result], tuple[list[Slice], dict[Any, Slice]]]


def build_select_with_child(
    query: ConnectionQuery,
    to_record: Callable[[Any], Any],
    child: ConnectionQuery,
    child_to_record: Callable[[Any], Any],
    key: str,
) -> tuple[PageStatement, ChildShaper]:
    """One statement for a page and, for each of its rows, the row's page of a nested
    connection: `build_select`'s statement for `query` as a subquery, with `child`'s page
    (and count) joined LATERAL to each of its rows, where `child.parents.column` equals the
    row's column `key` (which `query` selects). One round trip instead of two: the nested
    page's statement, its parent keys as a parameter and its loader's batch are gone.

    `child` is a first page (no cursor, no offset; a cursor is bound to one parent's rows)
    whose `parents` has no keys. The shaper gives `query`'s slices as `build_select`'s
    would, and each row's child slice (as the nested connection's own statement gives it)
    by the row's `key` value. A row's columns repeat on each of its child rows; the child's
    columns are labelled with a prefix, so the two never share a name."""
    parents = child.parents
    assert parents is not None
    assert parents.driver is None
    assert child.page.cursor is None
    assert child.page.offset == 0
    planned = _planned(query)
    child_planned = _planned(child)
    assert not child_planned.probe_opposite
    assert set(child_planned.values) <= {_PARENTS}  # its parents are the page's rows
    where = query.where
    if child.where is not None:
        child_where = child.where
        where = (
            child_where
            if where is None
            else memoized_for(
                _COMBINED_WHERES, (where, child_where), lambda: sa.and_(where, child_where)
            )
        )

    def build() -> Select[Any]:
        parent = _statement(
            query, planned.cursor_values, planned.probe_opposite, planned.nested
        ).subquery("root")
        driver = Parents(parents.column, (), driver=parent, driver_key=parent.c[key])
        order = []
        if planned.nested:
            order.append(parent.c[_PARENT].asc())
        key_names, _ = _key_columns(query)
        terms = query.ordering.terms
        scan = [t.flipped() for t in terms] if query.page.mode is Mode.BACKWARD else terms
        order.extend(
            parent.c[name].desc() if t.descending else parent.c[name].asc()
            for name, t in zip(key_names, scan, strict=True)
        )
        return _statement(
            dataclasses.replace(child, parents=driver), None, False, True, driver_order=order
        )

    shape = ("child", planned.shape, child_planned.shape, key)
    statement = PageStatement(shape, where, planned.values, build)
    shape_parent = _shaper(query, to_record, planned.probe_opposite, planned.nested, 1)
    pages_of = _group_shaper(child, child_to_record, False)

    def shape_both(fetched: Result) -> tuple[list[Slice], dict[Any, Slice]]:
        own, children = prefixed_views(fetched, _CHILD)
        # Each row's key and whether its child page has a row there, in one call per row.
        both = fetched.getter((key, _CHILD + _ROW))
        rows: list[Any] = []
        grouped: list[list[Any]] = []
        keys: list[Any] = []
        last: Any = rows  # no row's key
        group: list[Any] = []
        for row in fetched:
            at, present = both(row)
            if at != last or at is None:
                last = at
                rows.append(row)
                keys.append(at)
                group = []
                grouped.append(group)
            if present is not None:
                group.append(row)
        own[:] = rows
        slices = shape_parent(own)
        pages = pages_of(children, grouped, rows)
        return slices, {at: page for at, page in zip(keys, pages, strict=True) if at is not None}

    return statement, shape_both


def _statement(
    query: ConnectionQuery,
    cursor_values: tuple[Any, ...] | None,
    probe_opposite: bool,
    nested: bool,
    *,
    driver_order: Sequence[ColumnElement[Any]] = (),
) -> Select[Any]:
    """The SQL of `build_select`, every value but the filter's a named parameter. With a
    `driver` in `query.parents`, the pages hang on its rows instead of on parent keys, in
    `driver_order`, and the page's columns are prefixed (see `build_select_with_child`)."""
    ordering, page, parents = query.ordering, query.page, query.parents
    terms = ordering.terms
    bound: tuple[Any, ...] | None = None
    if cursor_values is not None:
        bound = tuple(
            None
            if value is None
            else sa.bindparam(_CURSOR.format(i), value, type_=term.key.column.type)
            for i, (term, value) in enumerate(zip(terms, cursor_values, strict=True))
        )
    # The page size is written into the SQL, not bound: a validated int, so one statement
    # per size a client uses. PostgreSQL plans a statement whose LIMIT is a parameter for
    # 10% of the rows, so its generic plan never looked cheaper than a custom one and every
    # execution was planned anew (a deep kernel page: 0.25 ms of planning, 0.08 ms of
    # execution). With the number written out, the generic plan costs what the custom ones
    # do, and after five runs the prepared statement keeps it: ~0.1 ms less per page.
    limit: ColumnElement[Any] = sa.literal_column(str(int(page.size) + 1))

    scan_terms = [t.flipped() for t in terms] if page.mode is Mode.BACKWARD else list(terms)
    branches = keyset_branches(scan_terms, bound) if bound is not None else None

    driver: FromClause | None = None
    scope: ColumnElement[bool] | None = None
    prefix = ""
    if parents is not None and parents.driver is not None:
        driver = parents.driver
        assert parents.driver_key is not None
        scope = parents.column == parents.driver_key
        prefix = _CHILD
    elif parents is not None:
        driver = keys_in_order(parents.column, parents.keys, _PARENTS, "parent")
        scope = parents.column == driver.c.key
        driver_order = [driver.c.ord]
    elif nested:
        # One row to hang the counts on, so they survive an empty page.
        driver = sa.select(sa.literal_column("1").label("ord")).subquery("parent")
        driver_order = [driver.c.ord]
    matching = _where(query.where, scope)

    order_by = [t.key.column.desc() if t.descending else t.key.column.asc() for t in scan_terms]
    key_names, key_columns = _key_columns(query)
    selected = [*query.columns, *key_columns]
    if nested:
        selected.append(sa.literal_column("1").label(_ROW))
    if branches is not None and len(branches) > 1:
        # One index seek per branch, each n+1 rows long, merged and cut to n+1 again.
        parts = []
        for branch in branches:
            part = (
                sa.select(*selected)
                .select_from(query.source)
                .where(*matching, branch)
                .order_by(*order_by)
                .limit(limit)
            )
            parts.append(part.correlate(driver) if driver is not None else part)
        merged = sa.union_all(*parts).subquery("keyset")
        merged_order = [
            merged.c[name].desc() if t.descending else merged.c[name].asc()
            for name, t in zip(key_names, scan_terms, strict=True)
        ]
        inner = sa.select(merged).order_by(*merged_order).limit(limit)
    else:
        seek = branches[0] if branches else (sa.false() if branches is not None else None)
        inner = (
            sa.select(*selected)
            .select_from(query.source)
            .where(*_where(*matching, seek))
            .order_by(*order_by)
            .limit(limit)
        )
    if page.offset > 0:
        inner = inner.offset(sa.bindparam(_OFFSET, page.offset, type_=sa.Integer()))

    statement: Select[Any] = inner
    if driver is not None:
        # Counts and probes go in their own one-row LATERAL per parent: as columns of the
        # outer select they would run once per returned row.
        meta_columns: list[ColumnElement[Any]] = []
        if query.want_count:
            counted = sa.select(sa.func.count()).select_from(query.source).where(*matching)
            meta_columns.append(counted.correlate(driver).scalar_subquery().label(_TOTAL))
        if probe_opposite:
            behind: list[ColumnElement[bool] | None] = [None]  # offset page: any row at all
            if bound is not None:
                # At or before the cursor in scan order: the cursor row itself, or after it in
                # the reversed order; each branch one index range, so the probe seeks.
                at = sa.and_(*(_equal_term(t, v) for t, v in zip(scan_terms, bound, strict=True)))
                flipped = [t.flipped() for t in scan_terms]
                behind = [at, *keyset_branches(flipped, bound)]
            probes: list[Select[Any]] = [
                sa.select(sa.literal_column("1"))
                .select_from(query.source)
                .where(*_where(*matching, condition))
                .limit(sa.literal_column("1"))
                .correlate(driver)
                for condition in behind
            ]
            probe = probes[0] if len(probes) == 1 else sa.union_all(*probes)
            meta_columns.append(probe.exists().label(_OPPOSITE))
        rows = inner.lateral("page")
        joined: FromClause = driver
        selected_outer: list[Any] = list(driver.c) if prefix else [driver.c.ord.label(_PARENT)]
        if meta_columns:
            # OFFSET 0 keeps PostgreSQL from pulling the subquery up into the outer query,
            # which would put the subplans back into the per-row target list.
            meta = sa.select(*meta_columns).offset(sa.literal_column("0")).lateral("meta")
            joined = joined.join(meta, sa.true())
            selected_outer.extend(c.label(prefix + c.name) if prefix else c for c in meta.c)
        # Each page keeps its own order: the parent's, then the page's sort keys, which end
        # in a unique column. (A row_number() over the page cost PostgreSQL a WindowAgg per
        # parent: ~15% of a nested lookup's execution.)
        page_order = [
            rows.c[name].desc() if t.descending else rows.c[name].asc()
            for name, t in zip(key_names, scan_terms, strict=True)
        ]
        if prefix:
            selected_outer.extend(c.label(prefix + c.name) for c in rows.c)
        else:
            selected_outer.append(rows)
        statement = (
            sa.select(*selected_outer)
            .select_from(joined.outerjoin(rows, sa.true()))
            .order_by(*driver_order, *page_order)
        )
    return statement


def _slicer(
    query: ConnectionQuery, to_record: Callable[[Any], T]
) -> tuple[Callable[[list[Any]], bool], Callable[..., Slice]]:
    """What cuts a page's rows to the page, and what makes a page's slice (see `_shaper`)."""
    ordering, page = query.ordering, query.page
    size, backward = page.size, page.mode is Mode.BACKWARD
    want_edge_cursors = query.want_edge_cursors

    def slice_of(
        rows_list: list[Any],
        records: list[T],
        keys: Sequence[Callable[[Any], Any]] | None,
        has_more: bool,
        opposite: bool,
        total: int | None,
    ) -> Slice:
        """One page: `rows_list` cut to the page and in the page's order, and their records;
        `keys` read a row's order values (None when no cursor is wanted)."""
        edges: list[dict[str, Any]]
        if keys is not None and rows_list:
            if want_edge_cursors:
                edges = [
                    {"cursor": encode_cursor(ordering, [key(row) for key in keys]), "node": record}
                    for record, row in zip(records, rows_list, strict=True)
                ]
            else:
                edges = [{"cursor": None, "node": record} for record in records]
                for at in {0, len(rows_list) - 1}:
                    row = rows_list[at]
                    edges[at]["cursor"] = encode_cursor(ordering, [key(row) for key in keys])
        else:
            edges = [{"cursor": None, "node": record} for record in records]
        if backward:
            return _answer(edges, opposite, has_more, total)
        return _answer(edges, has_more, opposite, total)

    def cut(rows_list: list[Any]) -> bool:
        """Cut a page's rows (fetched with one more than the page holds) to the page, in the
        page's order; whether there were more."""
        has_more = len(rows_list) > size
        del rows_list[size:]
        if backward:
            rows_list.reverse()
        return has_more

    return cut, slice_of


def _group_shaper(
    query: ConnectionQuery, to_record: Callable[[Any], T], probe_opposite: bool
) -> Callable[[Result, list[list[Any]], list[Any]], list[Slice]]:
    """What makes the slices of a nested statement's result: from each parent's rows
    (`grouped`, in the page's scan order) and its first row (`heads`, None when the result
    has no row for it), which carries the parent's count and probe."""
    cut, slice_of = _slicer(query, to_record)
    key_names, _ = _key_columns(query)
    want_cursors = query.want_cursors

    def pages(fetched: Result, grouped: list[list[Any]], heads: list[Any]) -> list[Slice]:
        keys = (
            tuple(fetched.reader(name) for name in key_names) if want_cursors and fetched else None
        )
        more = [cut(rows_list) for rows_list in grouped]
        kept = [row for rows_list in grouped for row in rows_list]
        # The records of every parent's page at once: the reads of the result are looked up
        # once per statement instead of once per parent.
        records = records_of_result(to_record, fetched, kept)
        # Every row of the result has the page's columns (NULL where a parent has no
        # rows), so one set of readers serves every group.
        total_of = fetched.reader(_TOTAL) if query.want_count and fetched else None
        opposite_of = fetched.reader(_OPPOSITE) if probe_opposite and fetched else None
        slices: list[Slice] = []
        start = 0
        for rows_list, head, has_more in zip(grouped, heads, more, strict=True):
            end = start + len(rows_list)
            total: int | None = None
            opposite = False
            if head is not None:
                total = total_of(head) if total_of is not None else None
                opposite = bool(opposite_of(head)) if opposite_of is not None else False
            slices.append(slice_of(rows_list, records[start:end], keys, has_more, opposite, total))
            start = end
        return slices

    return pages


def _shaper(
    query: ConnectionQuery,
    to_record: Callable[[Any], T],
    probe_opposite: bool,
    nested: bool,
    groups: int,
) -> Shaper:
    cut, slice_of = _slicer(query, to_record)
    key_names, _ = _key_columns(query)
    pages = _group_shaper(query, to_record, probe_opposite)

    def shape(fetched: Result) -> list[Slice]:
        if not nested:
            # The rows are asyncpg's own; what reads their columns is made once per result.
            keys = (
                tuple(fetched.reader(name) for name in key_names)
                if query.want_cursors and fetched
                else None
            )
            rows_list = list(fetched)
            has_more = cut(rows_list)
            records = records_of_result(to_record, fetched, rows_list)
            return [slice_of(rows_list, records, keys, has_more, False, None)]
        if not fetched:
            return [slice_of([], [], None, False, False, None) for _ in range(groups)]
        # Each parent's rows, and its first row: the statement puts the parent's count and
        # probe on every row of it, and a parent without rows has one row of NULLs.
        grouped: list[list[Any]] = [[] for _ in range(groups)]
        heads: list[Any] = [None] * groups
        # Each row's parent and whether the page has a row there, in one call per row.
        both = fetched.getter((_PARENT, _ROW))
        for row in fetched:
            at, present = both(row)
            at -= 1
            if heads[at] is None:
                heads[at] = row
            if present is not None:
                grouped[at].append(row)
        return pages(fetched, grouped, heads)

    return shape
