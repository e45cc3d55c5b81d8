"""Bounds for decimal input. Amounts are numeric(24,6); a filter may compare against larger
values, but asyncpg silently encodes a Decimal with a huge exponent (e.g. 1e200000) as 0, so
values far outside any amount are refused instead of being compared wrongly."""

from __future__ import annotations

from decimal import Decimal

LIMIT = Decimal("1e30")
MAX_FRACTION_DIGITS = 30


def in_range(number: Decimal) -> bool:
    if not number.is_finite() or abs(number) >= LIMIT:
        return False
    exponent = number.as_tuple().exponent
    return isinstance(exponent, int) and -exponent <= MAX_FRACTION_DIGITS


RANGE_HINT = (
    f"use a number below 1e30 in magnitude, with at most {MAX_FRACTION_DIGITS} decimal places"
)
