"""What every table family's repository shares: one connection entry point, one batched
lookup by key. Each family declares a `ConnectionSpec`; the SQL comes from the one
pagination engine and the one filter engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, FromClause

from app.db import RequestSession, Row
from app.filters import Expression, FieldBuilder, any_of, array_of, entity_filter
from app.pagination import (
    ConnectionQuery,
    Ordering,
    PageRequest,
    Parents,
    Slice,
    SortKey,
    build_select,
    resolve_order,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance
else:
    DataclassInstance = object

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
R = TypeVar("R", bound=DataclassInstance)


def from_row(cls: type[R], row: Row, **overrides: Any) -> R:
    """A record from a row whose column names are the record's field names."""
    values = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name not in overrides}
    return cls(**values, **overrides)


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

    def resolve_order(self, requested: Sequence[tuple[str, bool]]) -> Ordering:
        return resolve_order(
            self.name, requested, self.sort_keys, self.tiebreak, self.default_order
        )

    def build_filter(self, spec: Mapping[str, Any] | None) -> Expression | None:
        return entity_filter(spec, self.filter_fields, self.filter_type)

    async def fetch(
        self,
        session: RequestSession,
        where: Expression | None,
        ordering: Ordering,
        page: PageRequest,
        *,
        want_count: bool,
        want_opposite: bool,
        parents: Sequence[Any] | None = None,
    ) -> list[Slice[T]]:
        """One page per parent key (or one page for a root connection), one statement."""
        scope = None
        if parents is not None:
            assert self.parent_column is not None, f"{self.name} is not a nested connection"
            scope = Parents(self.parent_column, parents)
        query = ConnectionQuery(
            self.source, self.columns, where, ordering, page, want_count, want_opposite, scope
        )
        statement, shape = build_select(query, self.to_record)
        return shape(await session.fetch_all(statement))


async def fetch_by_keys(
    session: RequestSession,
    columns: Sequence[ColumnElement[Any]],
    key: ColumnElement[Any],
    keys: Sequence[K],
    to_record: Callable[[Row], T],
    record_key: Callable[[T], K],
) -> list[T | None]:
    """Records for `keys`, in their order, None where absent: one statement."""
    rows = await session.fetch_all(sa.select(*columns).where(any_of(key, keys)))
    found = {record_key(record): record for record in map(to_record, rows)}
    return [found.get(k) for k in keys]


async def fetch_by_pairs(
    session: RequestSession,
    source: FromClause,
    columns: Sequence[ColumnElement[Any]],
    key: tuple[ColumnElement[Any], ColumnElement[Any]],
    pairs: Sequence[tuple[Any, Any]],
    to_record: Callable[[Row], T],
    record_key: Callable[[T], tuple[Any, Any]],
) -> list[T | None]:
    """Records for composite keys, in their order, None where absent: one statement with
    one array parameter per key column."""
    wanted = (
        sa.func.unnest(
            array_of(key[0].type, [p[0] for p in pairs]),
            array_of(key[1].type, [p[1] for p in pairs]),
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
    rows = await session.fetch_all(statement)
    found = {record_key(record): record for record in map(to_record, rows)}
    return [found.get(p) for p in pairs]
