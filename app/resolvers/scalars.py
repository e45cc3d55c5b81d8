"""Decimal, UUID, DateTime and JSON: exact, strict, and with errors that say what to send."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from ariadne import ScalarType
from graphql import GraphQLError

from app.amounts import RANGE_HINT, in_range
from app.execution import inline_leaf

decimal_scalar = ScalarType("Decimal")
uuid_scalar = ScalarType("UUID")
datetime_scalar = ScalarType("DateTime")
json_scalar = ScalarType("JSON")


# The text of amounts seen before, by their `str`: a page of slots repeats a few
# capacities and usages. The key is `str(value)`, not the Decimal itself: hashing a Decimal
# fresh from the database (scale 6: "68719476736.000000") costs more than normalizing and
# formatting it (~1.4 µs against ~0.9 µs), its `str` a quarter of that. `str` keeps the
# sign, the digits and the exponent, which are all the text depends on, so equal amounts
# written differently ("4", "4.000000") and -0 beside 0 each have their own entry. Bounded:
# cleared when full.
_DECIMAL_TEXT: dict[str, str] = {}
_DECIMAL_TEXT_SIZE = 4096


@decimal_scalar.serializer
def serialize_decimal(value: Any) -> str:
    if type(value) is Decimal:
        key = str(value)
        text = _DECIMAL_TEXT.get(key)
        if text is None:
            # Plain notation, no exponent, no trailing zeros: "2", "0.5", "68719476736".
            # A signaling NaN raises here, every time (nothing is kept).
            text = format(value.normalize(), "f")
            if len(_DECIMAL_TEXT) >= _DECIMAL_TEXT_SIZE:
                _DECIMAL_TEXT.clear()
            _DECIMAL_TEXT[key] = text
        return text
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"Decimal cannot represent {type(value).__name__}")


# The text of a Decimal amount seen before, by its `str` (None when not seen): what
# serialize_decimal gives for it, without the call.
remembered_decimal_text = _DECIMAL_TEXT.get

# Compiled completers take a known amount's text without a call (the same lookup).
inline_leaf(
    serialize_decimal,
    "({TEXT}(str({x})) if type({x}) is {DECIMAL} else None)",
    {"TEXT": _DECIMAL_TEXT.get, "DECIMAL": Decimal},
)


@decimal_scalar.value_parser
def parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise GraphQLError(
            'Decimal takes a string (e.g. "1.5") or an integer; send fractions as strings '
            "so they stay exact."
        )
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise GraphQLError(
            f'Decimal cannot parse {value!r}; send a number such as "1.5".'
        ) from None
    if not in_range(number):
        raise GraphQLError(f"Decimal {value!r} is out of range; {RANGE_HINT}.")
    return number


@uuid_scalar.serializer
def serialize_uuid(value: Any) -> str:
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


@uuid_scalar.value_parser
def parse_uuid(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise GraphQLError('UUID takes a string such as "7f3c1e2a-0d4b-4c53-9a51-3f2b8c6d9e10".')
    try:
        return uuid.UUID(value)
    except ValueError:
        raise GraphQLError(
            f'{value!r} is not a UUID; send one such as "7f3c1e2a-0d4b-4c53-9a51-3f2b8c6d9e10".'
        ) from None


@datetime_scalar.serializer
def serialize_datetime(value: Any) -> str:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"DateTime cannot represent {type(value).__name__}")
    moment: dt.datetime = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return moment.isoformat()


# Compiled completers leave a UTC datetime as it is: the response's JSON encoder (orjson)
# writes it as RFC 3339 text, the same text as `isoformat()` (microseconds only when not
# zero, "+00:00"), about a tenth of its cost (~2 µs a value; a page of 100 kernels has 100
# or more). Any other offset gets its isoformat: orjson would write an offset with seconds
# differently.
inline_leaf(
    serialize_datetime,
    "({x} if type({x}) is {DATETIME} and {x}.tzinfo is {UTC} else {x}.isoformat() "
    "if type({x}) is {DATETIME} and {x}.tzinfo is not None else None)",
    {"DATETIME": dt.datetime, "UTC": dt.UTC},
)


@datetime_scalar.value_parser
def parse_datetime(value: Any) -> dt.datetime:
    hint = 'send ISO 8601 with an offset, e.g. "2026-03-01T12:00:00+00:00".'
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime takes a string; {hint}")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"{value!r} is not a DateTime; {hint}") from None
    if moment.tzinfo is None:
        raise GraphQLError(f"{value!r} has no UTC offset; {hint}")
    return moment


@json_scalar.serializer
def serialize_json(value: Any) -> Any:
    return value


@json_scalar.value_parser
def parse_json(value: Any) -> Any:
    return value
