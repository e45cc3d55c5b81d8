"""bench.worker's bookkeeping: the order of the two sides, CPU per request, the medians."""

from __future__ import annotations

import math

import pytest

from bench.common import BenchError
from bench.worker import QUERIES, alternating, cpu_us_per_request, line, summary


def test_the_sides_alternate_which_goes_first() -> None:
    assert list(alternating(4)) == [
        ("base", "this"),
        ("this", "base"),
        ("base", "this"),
        ("this", "base"),
    ]
    assert list(alternating(0)) == []


def test_cpu_per_request_in_microseconds() -> None:
    assert cpu_us_per_request(0.5, 5000) == pytest.approx(100.0)
    with pytest.raises(BenchError, match="no requests"):
        cpu_us_per_request(0.5, 0)


def test_the_summary_is_the_medians_and_their_ratio() -> None:
    base, this, ratio = summary({"base": [150.0, 140.0, 400.0], "this": [100.0, 90.0, 110.0]})
    assert (base, this) == (150.0, 100.0)
    assert ratio == pytest.approx(100.0 / 150.0)


def test_a_side_that_cost_nothing_has_no_ratio() -> None:
    # PostgreSQL's share of `{ __typename }`: no statement, no CPU on either side.
    base, this, ratio = summary({"base": [0.0, 0.0], "this": [0.0, 1.0]})
    assert (base, this) == (0.0, 0.5)
    assert math.isnan(ratio)
    assert line("  pg", {"base": [0.0, 0.0], "this": [0.0, 1.0]}).split()[:4] == [
        "pg",
        "0.0",
        "0.5",
        "-",
    ]


def test_the_queries_are_the_cluster_benchmarks_and_the_fixed_cost() -> None:
    from bench.cluster import SLOT_LIST_QUERY

    assert QUERIES["t"][1] == "{ __typename }"
    assert QUERIES["s"][1] == SLOT_LIST_QUERY
    assert set(QUERIES) == {"t", "s", "a", "b", "c", "d", "f"}
