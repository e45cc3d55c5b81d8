"""The pagination engine's pure parts: argument rules, ordering, cursors, keyset SQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.errors import InvalidParameters
from app.pagination import (
    Kind,
    Mode,
    PageArgs,
    PageRequest,
    SortKey,
    decode_cursor,
    encode_cursor,
    keyset_branches,
    resolve_order,
    validate_page,
)

t = sa.table(
    "t",
    sa.column("name", sa.String),
    sa.column("rank", sa.Integer),
    sa.column("used", sa.Numeric),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("id", sa.Uuid),
    sa.column("on", sa.Boolean),
)
KEYS = {
    "NAME": SortKey("NAME", t.c.name, Kind.STRING),
    "RANK": SortKey("RANK", t.c.rank, Kind.INT),
    "USED": SortKey("USED", t.c.used, Kind.DECIMAL, nullable=True),
    "AT": SortKey("AT", t.c.at, Kind.DATETIME, nullable=True),
    "ID": SortKey("ID", t.c.id, Kind.UUID),
    "ON": SortKey("ON", t.c.on, Kind.BOOL),
}


def page(**kwargs: Any) -> PageRequest:
    return validate_page(PageArgs(**kwargs), default_size=10, max_size=100)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, PageRequest(Mode.FORWARD, 10)),
        ({"first": 3}, PageRequest(Mode.FORWARD, 3)),
        ({"after": "c"}, PageRequest(Mode.FORWARD, 10, cursor="c")),
        ({"first": 100, "after": "c"}, PageRequest(Mode.FORWARD, 100, cursor="c")),
        ({"last": 4}, PageRequest(Mode.BACKWARD, 4)),
        ({"before": "c"}, PageRequest(Mode.BACKWARD, 10, cursor="c")),
        ({"limit": 5}, PageRequest(Mode.OFFSET, 5)),
        ({"offset": 7}, PageRequest(Mode.OFFSET, 10, offset=7)),
        ({"limit": 1, "offset": 0}, PageRequest(Mode.OFFSET, 1)),
    ],
)
def test_valid_page_arguments(args: dict[str, Any], expected: PageRequest) -> None:
    assert page(**args) == expected


@pytest.mark.parametrize(
    "args",
    [
        {"first": 1, "last": 1},
        {"after": "c", "before": "c"},
        {"first": 1, "offset": 0},
        {"last": 1, "limit": 1},
        {"first": 0},
        {"first": 101},
        {"last": 0},
        {"limit": -1},
        {"offset": -1},
        {"after": ""},
        {"before": ""},
    ],
)
def test_invalid_page_arguments(args: dict[str, Any]) -> None:
    with pytest.raises(InvalidParameters):
        page(**args)


def test_tiebreaker_follows_the_last_direction_and_is_not_repeated() -> None:
    ordering = resolve_order("T", [("RANK", True)], KEYS, [KEYS["NAME"]], [("RANK", False)])
    assert ordering.signature == "T[RANK:DESC,NAME:DESC]"
    ordering = resolve_order("T", [], KEYS, [KEYS["NAME"]], [("RANK", False)])
    assert ordering.signature == "T[RANK:ASC,NAME:ASC]"
    ordering = resolve_order("T", [("NAME", True), ("RANK", False)], KEYS, [KEYS["NAME"]], [])
    assert ordering.signature == "T[NAME:DESC,RANK:ASC]"


def test_duplicate_order_fields_are_refused() -> None:
    with pytest.raises(InvalidParameters, match="names RANK more than once"):
        resolve_order("T", [("RANK", False), ("RANK", True)], KEYS, [KEYS["NAME"]], [])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NAME", "a:b\u00e9\"'"),
        ("RANK", -12),
        ("USED", Decimal("123456789012345678.000001")),
        ("USED", None),
        (
            "AT",
            dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=9))),
        ),
        ("AT", None),
        ("ID", uuid.UUID("7f3c1e2a-0d4b-4c53-9a51-3f2b8c6d9e10")),
        ("ON", False),
    ],
)
def test_cursor_round_trip_keeps_exact_values(field: str, value: Any) -> None:
    ordering = resolve_order("T", [(field, False)], KEYS, [KEYS["RANK"]], [])
    values = (value, 3) if field != "RANK" else (value,)
    cursor = encode_cursor(ordering, values)
    assert decode_cursor(cursor, ordering) == values


def test_null_in_a_non_nullable_key_is_a_bad_cursor() -> None:
    ordering = resolve_order("T", [("RANK", False)], KEYS, [KEYS["NAME"]], [])
    with pytest.raises(InvalidParameters, match="is not valid"):
        decode_cursor(encode_cursor(ordering, (None, "x")), ordering)


def keyset_after(terms: Any, values: Any) -> sa.ColumnElement[bool]:
    return sa.or_(*keyset_branches(terms, values))


def sql(expression: sa.ColumnElement[bool]) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    compiled = expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def test_uniform_non_null_order_uses_a_row_comparison() -> None:
    ordering = resolve_order("T", [("RANK", True)], KEYS, [KEYS["NAME"]], [])
    assert sql(keyset_after(ordering.terms, (5, "x"))) == "(t.rank, t.name) < (5, 'x')"


def test_nullable_keys_spell_out_null_placement() -> None:
    ascending = resolve_order("T", [("USED", False)], KEYS, [KEYS["NAME"]], [])
    assert sql(keyset_after(ascending.terms, (Decimal(2), "x"))) == (
        "(t.used, t.name) > (2, 'x') OR t.used IS NULL"
    )
    assert sql(keyset_after(ascending.terms, (None, "x"))) == "t.used IS NULL AND t.name > 'x'"
    descending = resolve_order("T", [("USED", True)], KEYS, [KEYS["NAME"]], [])
    assert sql(keyset_after(descending.terms, (None, "x"))) == (
        "t.used IS NOT NULL OR t.used IS NULL AND t.name < 'x'"
    )
    # NULLS FIRST: the null rows are before any non-null cursor value, and the row
    # comparison, unknown where t.used is null, leaves them out.
    assert sql(keyset_after(descending.terms, (Decimal(2), "x"))) == "(t.used, t.name) < (2, 'x')"


def test_mixed_or_nullable_orders_split_into_one_index_range_per_branch() -> None:
    ordering = resolve_order("T", [("RANK", True), ("NAME", False)], KEYS, [KEYS["NAME"]], [])
    branches = keyset_branches(ordering.terms, (3, "x"))
    assert [sql(b) for b in branches] == ["t.rank < 3", "t.rank = 3 AND t.name > 'x'"]
    nullable = resolve_order("T", [("USED", False)], KEYS, [KEYS["NAME"]], [])
    branches = keyset_branches(nullable.terms, (Decimal(2), "x"))
    # The non-null part of the range is one seek; the nulls after it are another.
    assert [sql(b) for b in branches] == ["(t.used, t.name) > (2, 'x')", "t.used IS NULL"]
    # A tail after a term in the other direction is one row comparison too.
    mixed = resolve_order("T", [("RANK", True), ("USED", False)], KEYS, [KEYS["NAME"]], [])
    branches = keyset_branches(mixed.terms, (3, Decimal(2), "x"))
    assert [sql(b) for b in branches] == [
        "t.rank < 3",
        "t.rank = 3 AND (t.used, t.name) > (2, 'x')",
        "t.rank = 3 AND t.used IS NULL",
    ]


def test_decoded_cursors_are_remembered_per_order_and_bad_ones_refused_every_time() -> None:
    from app.pagination import decode_cursor
    from app.repositories import kernels

    by_created = kernels.CONNECTION.resolve_order([("CREATED_AT", False)])
    by_status = kernels.CONNECTION.resolve_order([("STATUS", False)])
    cursor = encode_cursor(by_created, [dt.datetime(2026, 3, 1, tzinfo=dt.UTC), uuid.UUID(int=5)])
    values = decode_cursor(cursor, by_created)
    assert decode_cursor(cursor, by_created) is values
    assert values == (dt.datetime(2026, 3, 1, tzinfo=dt.UTC), uuid.UUID(int=5))
    for _ in range(2):  # the same cursor under another order is refused, each time
        with pytest.raises(InvalidParameters, match="another order"):
            decode_cursor(cursor, by_status)
        with pytest.raises(InvalidParameters, match="not valid"):
            decode_cursor(cursor[:-4], by_created)
