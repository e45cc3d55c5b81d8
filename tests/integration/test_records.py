"""Rows to records (app.repositories.base.from_row): the fast read of `databases`' Records
gives exactly what reading each column by name gives."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa

from app.db import Database, Result, Row
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
    # A whole result at once, as lookups build them, and from raw rows, as pages do.
    assert repository.to_record.many(rows) == fast
    assert repository.to_record.many([]) == []
    result = _result(rows)
    assert repository.to_record.of_result(result, list(result)) == fast
    assert repository.to_record.of_result(result, []) == []


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
    result = _result(rows)
    assert repository.to_record.of_result(result, list(result)) == records
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


def _result(rows: Sequence[Row]) -> Result:
    """The rows of one result as `RequestSession.fetch_page` gives them."""
    first = rows[0]
    maps = (first._column_map, first._column_map_int, first._column_map_full)
    return Result([row._row for row in rows], first._result_columns, first._dialect, maps)


async def test_result_readers_read_what_reading_by_name_reads(database: Database) -> None:
    """A `Result`'s readers take a column (or several in one call: the nested page's parent
    and ordinal) from asyncpg's raw rows: the values `row[name]` gives, for every row of the
    result, a column with a result processor (JSON) included."""
    statement = sa.select(
        AGENTS.c.id,
        AGENTS.c.status,
        sa.func.row_number().over(order_by=AGENTS.c.id).label("n"),
        AGENTS.c.compute_plugins,
    ).limit(20)
    rows = await _rows(database, statement)
    assert len(rows) > 3
    result = _result(rows)
    for name in ("id", "status", "n", "compute_plugins"):
        read = result.reader(name)
        assert [read(raw) for raw in result] == [row[name] for row in rows]
    assert any(isinstance(row["compute_plugins"], dict) for row in rows)
    both = result.getter(("n", "id"))
    assert [both(raw) for raw in result] == [(row["n"], row["id"]) for row in rows]
    assert [both(raw)[0] for raw in result] == list(range(1, len(rows) + 1))
    one = result.getter(("status",))
    assert [one(raw) for raw in result] == [(row["status"],) for row in rows]
    processed = result.getter(("id", "compute_plugins"))
    assert [processed(raw) for raw in result] == [
        (row["id"], row["compute_plugins"]) for row in rows
    ]
    assert result.wrap(result[0])["id"] == rows[0]["id"]
    assert result.wrap(result[1])["status"] == rows[1]["status"]
