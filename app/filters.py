"""The one filter engine every connection uses: filter inputs -> SQLAlchemy Core booleans.

Pure, no I/O. Input keys arrive snake_cased (Ariadne converts names). Every operator that
is set applies (AND); `AND`/`OR`/`NOT` compose whole filters (`NOT` negates the AND of its
list). LIKE wildcards in values match literally. Negative operators on a nullable column
keep the NULL rows: a missing value is not equal to, and does not contain, anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement

from app.errors import InvalidParameters

Expression = ColumnElement[bool]
FieldBuilder = Callable[[Any], Expression | None]

_COMPOSITION = ("and", "or", "not")


def no_nul(value: Any) -> None:
    """PostgreSQL text cannot hold NUL; such a value can match nothing and would fail the
    statement, so it is refused as the client's mistake."""
    values = value if isinstance(value, list | tuple) else [value]
    if any(isinstance(v, str) and "\x00" in v for v in values):
        raise InvalidParameters("Text values must not contain NUL characters (\\u0000).")


def array_of(type_: Any, values: Sequence[Any], name: str | None = None) -> ColumnElement[Any]:
    """One array parameter of `type_` values (named `name`, else anonymous). Strings are cast
    to unbounded varchar: a cast to varchar(64) would silently truncate longer values, which
    could then equal stored ones."""
    no_nul(values)
    item = _parameter_type(type_)
    return sa.cast(sa.bindparam(name, list(values), type_=ARRAY(item)), ARRAY(item))


def value_of(type_: Any, value: Any) -> ColumnElement[Any]:
    """One parameter of `type_`, cast as `array_of` casts its items."""
    no_nul(value)
    item = _parameter_type(type_)
    return sa.cast(sa.bindparam(None, value, type_=item), item)


def _parameter_type(type_: Any) -> Any:
    """The type a parameter compared with a column of `type_` is cast to: unbounded varchar
    for strings (see `array_of`), the column's own type otherwise."""
    return sa.String() if isinstance(type_, sa.String) else type_


def any_of(column: ColumnElement[Any], values: Sequence[Any]) -> Expression:
    """`column = ANY(:values)`: one array parameter, whatever the number of values; one
    value is `column = :value`, which PostgreSQL (before 17) can answer from an index on
    (column, sort keys) in the order of the sort keys: `status: {in: [RUNNING]}` ordered by
    creation time reads ~100 index entries instead of filtering a scan of the time index."""
    if len(values) == 1:
        return column == value_of(column.type, values[0])
    return column == sa.any_(array_of(column.type, values))


def none_of(column: ColumnElement[Any], values: Sequence[Any]) -> Expression:
    if len(values) == 1:
        return column != value_of(column.type, values[0])
    return column != sa.all_(array_of(column.type, values))


def _keep_nulls(column: ColumnElement[Any], expression: Expression, nullable: bool) -> Expression:
    return sa.or_(column.is_(None), expression) if nullable else expression


def _lowered(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.func.lower(column, type_=sa.String)


def _string_operators(column: ColumnElement[Any], nullable: bool) -> dict[str, FieldBuilder]:
    def neg(expression: Expression) -> Expression:
        return _keep_nulls(column, sa.not_(expression), nullable)

    low = _lowered(column)
    return {
        "equals": lambda v: column == v,
        "not_equals": lambda v: _keep_nulls(column, column != v, nullable),
        "contains": lambda v: column.contains(v, autoescape=True),
        "not_contains": lambda v: neg(column.contains(v, autoescape=True)),
        "starts_with": lambda v: column.startswith(v, autoescape=True),
        "not_starts_with": lambda v: neg(column.startswith(v, autoescape=True)),
        "ends_with": lambda v: column.endswith(v, autoescape=True),
        "not_ends_with": lambda v: neg(column.endswith(v, autoescape=True)),
        "i_equals": lambda v: low == _lowered(sa.cast(v, sa.String)),
        "i_not_equals": lambda v: _keep_nulls(
            column, low != _lowered(sa.cast(v, sa.String)), nullable
        ),
        "i_contains": lambda v: column.icontains(v, autoescape=True),
        "i_not_contains": lambda v: neg(column.icontains(v, autoescape=True)),
        "i_starts_with": lambda v: column.istartswith(v, autoescape=True),
        "i_not_starts_with": lambda v: neg(column.istartswith(v, autoescape=True)),
        "i_ends_with": lambda v: column.iendswith(v, autoescape=True),
        "i_not_ends_with": lambda v: neg(column.iendswith(v, autoescape=True)),
        "in": lambda v: any_of(column, v),
        "not_in": lambda v: _keep_nulls(column, none_of(column, v), nullable),
        "i_in": lambda v: any_of(low, [x.lower() for x in v]),
        "i_not_in": lambda v: _keep_nulls(column, none_of(low, [x.lower() for x in v]), nullable),
    }


def _compose(
    spec: Mapping[str, Any] | None,
    leaf: Callable[[str, Any], Expression | None],
    where: str,
) -> Expression | None:
    """AND of every set operator in `spec`, with AND/OR/NOT lists composed recursively."""
    if not spec:
        return None
    parts: list[Expression] = []
    for key, value in spec.items():
        if value is None:
            continue
        if key in _COMPOSITION:
            name = key.upper()
            if not value:
                raise InvalidParameters(
                    f"`{name}` in {where} is an empty list; give it at least one filter or leave it out."
                )
            subs = [_compose(sub, leaf, where) for sub in value]
            exprs = [sa.true() if s is None else s for s in subs]
            if key == "and":
                parts.extend(exprs)
            elif key == "or":
                parts.append(sa.or_(*exprs))
            else:
                # IS NOT TRUE, not NOT: a condition that is unknown for a NULL column must
                # count as false, so F and NOT [F] split the rows between them.
                parts.append(sa.and_(*exprs).is_not(sa.true()))
            continue
        built = leaf(key, value)
        if built is not None:
            parts.append(built)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else sa.and_(*parts)


def _value_operators(column: ColumnElement[Any], nullable: bool) -> dict[str, FieldBuilder]:
    """Operators on exact values: amounts, UUIDs, enum names."""
    return {
        "equals": lambda v: column == v,
        "not_equals": lambda v: _keep_nulls(column, column != v, nullable),
        "less_than": lambda v: column < v,
        "less_than_or_equal": lambda v: column <= v,
        "greater_than": lambda v: column > v,
        "greater_than_or_equal": lambda v: column >= v,
        "in": lambda v: any_of(column, v),
        "not_in": lambda v: _keep_nulls(column, none_of(column, v), nullable),
    }


def value_filter(column: ColumnElement[Any], nullable: bool = False, *, kind: str) -> FieldBuilder:
    """DecimalFilter, UUIDFilter and the enum filters: the operators their input types have."""
    operators = _value_operators(column, nullable)

    def build(spec: Mapping[str, Any]) -> Expression | None:
        return _compose(spec, lambda key, value: operators[key](value), f"a {kind}")

    return build


def equals_filter(column: ColumnElement[Any]) -> FieldBuilder:
    """A plain `field: value` condition, e.g. `schedulable: true`."""
    return lambda value: column == value


def string_filter(column: ColumnElement[Any], nullable: bool = False) -> FieldBuilder:
    operators = _string_operators(column, nullable)

    def leaf(key: str, value: Any) -> Expression | None:
        no_nul(value)
        return operators[key](value)

    def build(spec: Mapping[str, Any]) -> Expression | None:
        return _compose(spec, leaf, "a StringFilter")

    return build


def entity_filter(
    spec: Mapping[str, Any] | None, fields: Mapping[str, FieldBuilder], type_name: str
) -> Expression | None:
    """A whole filter input (e.g. ResourceSlotTypeFilter): its fields AND-ed, plus AND/OR/NOT."""
    return _compose(spec, lambda key, value: fields[key](value), type_name)
