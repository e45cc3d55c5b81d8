from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
import pytest
from graphql import GraphQLEnumType, GraphQLError
from graphql.type.scalars import serialize_boolean, serialize_int

from app import execution
from app.resolvers import scalars
from app.resolvers.agent import compact_json
from app.resolvers.scalars import (
    parse_datetime,
    parse_decimal,
    parse_uuid,
    serialize_datetime,
    serialize_decimal,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("4.000000"), "4"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("68719476736.000000"), "68719476736"),
        (Decimal("123456789012345678.123456"), "123456789012345678.123456"),
        (Decimal("1E+3"), "1000"),
        (7, "7"),
    ],
)
def test_decimal_serializes_exactly(value: Decimal | int, text: str) -> None:
    assert serialize_decimal(value) == text
    # Again, now that the text may be remembered.
    assert serialize_decimal(value) == text


def test_remembered_decimal_text_keeps_signs_and_specials_apart() -> None:
    """Texts are remembered by each amount's own writing: equal amounts written alike share
    one, and -0 (equal to 0), NaN (equal to nothing) and a signaling NaN (which fails) keep
    their own answers in either order."""
    scalars._DECIMAL_TEXT.clear()
    for _ in range(2):
        assert serialize_decimal(Decimal("-0")) == "-0"
        assert serialize_decimal(Decimal("0")) == "0"
        assert serialize_decimal(Decimal("-0.00")) == "-0"
        with pytest.raises(InvalidOperation):
            serialize_decimal(Decimal("sNaN"))
    assert {"-0", "0", "-0.00"} <= set(scalars._DECIMAL_TEXT)
    assert "sNaN" not in scalars._DECIMAL_TEXT
    assert serialize_decimal(Decimal("2.50")) == "2.5"
    assert serialize_decimal(Decimal("2.5000")) == "2.5"
    assert serialize_decimal(Decimal("0")) == "0"
    assert serialize_decimal(Decimal("-0")) == "-0"
    assert serialize_decimal(Decimal("0.000")) == "0"
    assert serialize_decimal(Decimal("-1.50")) == "-1.5"
    assert serialize_decimal(Decimal("NaN")) == "NaN"
    for _ in range(5000):  # more than the map holds: it starts again, answers the same
        serialize_decimal(Decimal(_))
    assert serialize_decimal(Decimal("4999.00")) == "4999"


def test_decimal_parses_strings_and_ints_only() -> None:
    assert parse_decimal("0.1") == Decimal("0.1")
    assert parse_decimal(3) == Decimal(3)
    for bad in (0.1, True, "abc", "NaN", "Infinity", None):
        with pytest.raises(GraphQLError):
            parse_decimal(bad)


def test_uuid_and_datetime() -> None:
    assert parse_uuid("7F3C1E2A-0D4B-4C53-9A51-3F2B8C6D9E10") == uuid.UUID(
        "7f3c1e2a-0d4b-4c53-9a51-3f2b8c6d9e10"
    )
    with pytest.raises(GraphQLError, match="is not a UUID"):
        parse_uuid("nope")
    moment = parse_datetime("2026-03-01T12:00:00+09:00")
    assert serialize_datetime(moment) == "2026-03-01T12:00:00+09:00"
    assert serialize_datetime(dt.datetime(2026, 1, 1)) == "2026-01-01T00:00:00+00:00"
    with pytest.raises(GraphQLError, match="has no UTC offset"):
        parse_datetime("2026-03-01T12:00:00")


def test_compute_plugin_values_are_compact_json_whatever_their_integers() -> None:
    assert compact_json({"version": "12.4", "n": [1, 2.5, None, True]}) == (
        '{"version":"12.4","n":[1,2.5,null,true]}'
    )
    assert compact_json({"memory": 123456789012345678901234567890, "name": "ü"}) == (
        '{"memory":123456789012345678901234567890,"name":"ü"}'
    )


class _Moment(dt.datetime):
    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return "a subclass's own text"


_PLUS_TWO = dt.timezone(dt.timedelta(hours=2))
_UTC_MOMENTS = [
    dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),  # no microseconds: none written
    dt.datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 3, 1, 12, 0, 0, 120000, tzinfo=dt.UTC),
    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
]
_INLINE_CASES = [
    Decimal("4.000000"),
    Decimal("4"),  # equal to the one before: the cached text
    Decimal("0"),
    Decimal("-0"),  # equal to 0, but written "-0"
    Decimal("-0.00"),
    Decimal("-4.5"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+3"),
    7,
    True,
    False,
    0,
    -1,
    2147483647,
    2147483648,  # past Int's range: the serializer's error
    -2147483648,
    -2147483649,
    4.0,
    4.5,
    "4",
    "",
    *_UTC_MOMENTS,
    dt.datetime(2026, 3, 1, 12, 0, tzinfo=_PLUS_TWO),
    dt.datetime(2026, 3, 1, 12, 0),  # naive: taken as UTC
    _Moment(2026, 3, 1, tzinfo=dt.UTC),
    dt.date(2026, 3, 1),
    None,
]


@pytest.mark.parametrize(
    "serialize", [serialize_decimal, serialize_datetime, serialize_int, serialize_boolean]
)
def test_compiled_leaves_serialize_as_the_serializer_does(serialize: Any) -> None:
    """Compiled completers take a Decimal's cached text, an aware datetime's isoformat (a UTC
    one as it is, for orjson to write), an int in Int's range or a bool inline
    (app.execution.inline_leaf): the same JSON, or the same failure, as the serializer
    gives, for every value, seen once or twice."""
    leaf = execution._leaf(serialize, non_null=False)
    compiled = execution.compile_completer(leaf, source=False)
    assert compiled is not leaf
    # The inline form is in the generated code, with the names it was registered with.
    _, names = execution._INLINE_LEAVES[serialize]
    assert all(
        any(known is value for known in compiled.__globals__.values()) for value in names.values()
    )

    def outcome(complete: Any, value: Any) -> Any:
        try:
            return complete(value)
        except Exception as error:  # each failure as its kind
            return type(error)

    def written(complete: Any, value: Any) -> Any:
        # As the response writes it (a UTC datetime is left to orjson).
        answer = outcome(complete, value)
        return answer if isinstance(answer, type) else orjson.dumps(answer)

    for _ in range(2):
        for value in _INLINE_CASES:
            assert written(compiled, value) == written(leaf, value), value
    if serialize is serialize_int:
        assert [compiled(value) for value in (0, -2147483648, True)] == [0, -2147483648, 1]
    elif serialize is serialize_boolean:
        assert [compiled(value) for value in (True, False)] == [True, False]
        assert compiled(1) is True  # through the serializer: a number is true when not zero
    elif serialize is serialize_decimal:
        assert [compiled(Decimal(text)) for text in ("0", "-0", "4.50")] == ["0", "-0", "4.5"]
    else:
        moment = dt.datetime(2026, 3, 1, 12, 0)
        assert compiled(moment) == "2026-03-01T12:00:00+00:00"
        assert compiled(moment.replace(tzinfo=_PLUS_TWO)) == "2026-03-01T12:00:00+02:00"
        # A UTC datetime is left to orjson, which writes exactly its isoformat.
        for utc in _UTC_MOMENTS:
            assert compiled(utc) is utc
            assert orjson.dumps(utc) == orjson.dumps(serialize_datetime(utc))
        # An offset with seconds is one orjson would write differently: its isoformat.
        odd = dt.datetime(2026, 3, 1, tzinfo=dt.timezone(dt.timedelta(seconds=-3661)))
        assert compiled(odd) == "2026-03-01T00:00:00-01:01:01"


class _Level(enum.StrEnum):
    HIGH = "high"


@pytest.mark.parametrize(
    "enum_type",
    [
        GraphQLEnumType("Color", {"RED": None, "GREEN": None}),
        GraphQLEnumType("Level", {"LOW": 1, "HIGH": "high", "TOP": _Level.HIGH}),
        GraphQLEnumType("Picked", _Level),
    ],
)
def test_compiled_enum_leaves_name_their_values_as_the_type_does(enum_type: Any) -> None:
    """A compiled enum leaf looks a `str` up in the type's own map of values inline; every
    other value, and a str the map does not hold, goes to the type's method: the same name
    or the same failure for each."""
    leaf = execution._leaf(enum_type.coerce_output_value, non_null=False)
    compiled = execution.compile_completer(leaf, source=False)
    assert compiled is not leaf
    lookup = enum_type._value_lookup
    assert any(
        getattr(value, "__self__", None) is lookup for value in compiled.__globals__.values()
    )

    class Tagged(str):
        pass

    def outcome(complete: Any, value: Any) -> Any:
        try:
            return complete(value)
        except Exception as error:  # each failure as its kind and message
            return type(error), str(error)

    for value in (
        "RED",
        "GREEN",
        "BLUE",
        "high",
        "HIGH",
        "LOW",
        "",
        Tagged("RED"),
        1,
        1.0,
        True,
        _Level.HIGH,
        ["RED"],
        None,
    ):
        assert outcome(compiled, value) == outcome(leaf, value), value
