"""Rows to records (app.repositories.base.from_row): the fast read of `databases`' Records
gives exactly what reading each column by name gives."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import Database, Row
from app.repositories import agents, kernels, resource_allocations, resource_slot_types
from app.repositories.base import from_row
from app.tables import agents as AGENTS

pytestmark = pytest.mark.usefixtures("demo_loaded")


async def _rows(database: Database, statement: sa.Select[Any] | Any) -> Sequence[Row]:
    session = database.session()
    try:
        return await session.fetch_all(statement)
    finally:
        await session.close()


class ByName:
    """A row that can only be read by column name, as any row but `databases`' own."""

    def __init__(self, row: Row) -> None:
        self._row = row

    def __getitem__(self, name: str) -> Any:
        return self._row[name]


@pytest.mark.parametrize(
    "repository", [agents, kernels, resource_allocations, resource_slot_types], ids=str
)
async def test_fast_reads_equal_reads_by_name(database: Database, repository: Any) -> None:
    rows = await _rows(database, sa.select(*repository.COLUMNS).limit(50))
    assert len(rows) > 3
    fast = [repository.to_record(row) for row in rows]
    assert fast == [repository.to_record(ByName(row)) for row in rows]
    # Twice: the second time from the plan made for this result.
    assert fast == [repository.to_record(row) for row in rows]
    # A whole result at once, as pages build them.
    assert repository.to_record.many(rows) == fast
    assert repository.to_record.many([]) == []


@pytest.mark.parametrize("repository", [agents, kernels], ids=str)
async def test_records_of_pages_without_every_column(database: Database, repository: Any) -> None:
    """A page selecting only some columns (ConnectionSpec.field_columns): the fields it
    has are read, the others are NOT_LOADED, one row at a time or all at once."""
    from app.records import NOT_LOADED

    some = repository.COLUMNS[:1] + repository.COLUMNS[-2:]
    rows = await _rows(database, sa.select(*some).order_by(some[0]).limit(20))
    full = await _rows(database, sa.select(*repository.COLUMNS).order_by(some[0]).limit(20))
    records = repository.to_record.many(rows)
    assert records == [repository.to_record(row) for row in rows]
    names = {column.name for column in some}
    for record, whole in zip(records, map(repository.to_record, full), strict=True):
        for name in repository.to_record.cls.__dataclass_fields__:
            value = getattr(record, name)
            if name in names:
                assert value == getattr(whole, name)
            elif name != "container_count":
                assert value is NOT_LOADED, name


async def test_optional_fields_keep_their_default_when_not_selected(
    database: Database,
) -> None:
    plain = await _rows(database, sa.select(*agents.COLUMNS).order_by(AGENTS.c.id).limit(5))
    counted = await _rows(
        database,
        sa.select(*agents.COLUMNS, agents.CONTAINER_COUNT).order_by(AGENTS.c.id).limit(5),
    )
    without = [agents.to_record(row) for row in plain]
    with_counts = [agents.to_record(row) for row in counted]
    assert {a.container_count for a in without} == {None}
    assert all(isinstance(a.container_count, int) for a in with_counts)
    assert [replace(a, container_count=None) for a in with_counts] == without
    assert [agents.to_record(ByName(row)) for row in plain] == without


@dataclass(frozen=True, slots=True)
class Pair:
    first: str
    second: str | None = None


async def test_columns_out_of_field_order_and_overrides(database: Database) -> None:
    [row] = await _rows(
        database,
        sa.select(sa.literal("b").label("second"), sa.literal("a").label("first")),
    )
    assert from_row(Pair, row) == Pair("a", "b")
    assert from_row(Pair, row, second="c") == Pair("a", "c")
    [row] = await _rows(database, sa.select(sa.literal("a").label("first")))
    assert from_row(Pair, row) == Pair("a")


async def test_json_columns_parse_as_the_json_module_parses_them(database: Database) -> None:
    """Exactly: an integer beyond 64 bits stays an integer (a faster parser that reads it as
    a float would lose digits without a word)."""
    documents = ['{"binary": true, "round_length": 2}', '{"n": 123456789012345678901234567890}']
    for document in documents:
        statement = sa.select(
            sa.cast(sa.literal(document), sa.dialects.postgresql.JSONB).label("j")
        )
        [row] = await _rows(database, statement)
        assert row["j"] == json.loads(document)


async def test_raw_getter_reads_what_reading_by_name_reads(database: Database) -> None:
    """`raw_getter` takes several unprocessed columns of a row in one call (the nested page's
    parent and ordinal): the values `row[name]` gives, for every row of the result; a column
    with a result processor (JSON) is left to `column_reader`, and so is any other row type."""
    from app.db import raw_getter

    statement = sa.select(
        AGENTS.c.id,
        AGENTS.c.status,
        sa.func.row_number().over(order_by=AGENTS.c.id).label("n"),
        AGENTS.c.compute_plugins,
    ).limit(20)
    rows = await _rows(database, statement)
    assert len(rows) > 3
    both = raw_getter(rows[0], ("n", "id"))
    assert both is not None
    assert [both(row) for row in rows] == [(row["n"], row["id"]) for row in rows]
    assert [both(row)[0] for row in rows] == list(range(1, len(rows) + 1))
    one = raw_getter(rows[0], ("status",))
    assert one is not None
    assert [one(row) for row in rows] == [(row["status"],) for row in rows]
    assert raw_getter(rows[0], ("id", "compute_plugins")) is None
    assert raw_getter(ByName(rows[0]), ("id",)) is None
