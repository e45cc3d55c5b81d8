"""How deeply variables nest (app.limits.json_depth, the input-depth limit's measure of a
request's variables): lists and objects count, scalars do not, at any depth."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.limits import json_depth

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def _reference(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_reference, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_reference, value), default=0)
    return 0


@given(st.lists(JSON, max_size=4))
def test_depth_is_the_deepest_nesting_of_lists_and_objects(values: list[Any]) -> None:
    assert json_depth(values) == max(map(_reference, values), default=0)


def test_known_depths() -> None:
    assert json_depth([]) == 0
    assert json_depth(["a", 1, None]) == 0
    assert json_depth([["id"] * 100]) == 1
    assert json_depth([{"a": [1, {"b": []}]}, [[]]]) == 4


def test_deep_values_are_measured_without_recursion() -> None:
    value: Any = "leaf"
    for _ in range(100_000):
        value = [value]
    assert json_depth([value]) == 100_000
