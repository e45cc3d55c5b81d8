"""How `in` and `notIn` lists become SQL: one value is an equality, several one array."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.errors import InvalidParameters
from app.filters import any_of, none_of

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
STATUS = sa.table("kernels", sa.column("status", sa.String(64))).c.status


def sql(expression: sa.ColumnElement[bool]) -> str:
    return str(expression.compile(dialect=DIALECT))


def test_one_value_is_an_equality_an_index_on_the_column_answers_in_order() -> None:
    equal, unequal = sql(any_of(STATUS, ["RUNNING"])), sql(none_of(STATUS, ["RUNNING"]))
    assert equal.startswith("kernels.status = CAST(")
    assert equal.endswith(" AS VARCHAR)")
    assert unequal.startswith("kernels.status != CAST(")
    assert unequal.endswith(" AS VARCHAR)")
    assert "ANY" not in equal
    assert "ALL" not in unequal
    assert "[]" not in equal + unequal


def test_several_values_are_one_array_parameter_whatever_their_number() -> None:
    two, three = sql(any_of(STATUS, ["A", "B"])), sql(any_of(STATUS, ["A", "B", "C"]))
    assert two == three
    assert two.startswith("kernels.status = ANY (CAST(")
    assert two.endswith(" AS VARCHAR[]))")
    assert sql(none_of(STATUS, ["A", "B"])).startswith("kernels.status != ALL (CAST(")


def test_an_empty_list_stays_an_array_and_matches_nothing() -> None:
    assert "ANY" in sql(any_of(STATUS, []))


@pytest.mark.parametrize("values", [["A\x00"], ["A", "B\x00"]])
def test_nul_is_refused_in_either_form(values: list[str]) -> None:
    with pytest.raises(InvalidParameters, match="NUL"):
        any_of(STATUS, values)
