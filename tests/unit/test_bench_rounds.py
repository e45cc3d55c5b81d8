"""bench.cluster's interleaved rounds: the order of the runs and how they are combined."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.cluster import (
    Comparison,
    DeepPage,
    Side,
    Target,
    combine_runs,
    deep_against_first,
    evaluate,
    measure_pair,
)
from bench.common import CONCURRENCIES, Query, Run


def run(
    requests: int,
    duration: float,
    p50: float,
    p99: float,
    cpu: float,
    errors: int = 0,
    db_cpu: float = math.nan,
) -> Run:
    return Run(
        concurrency=16,
        requests=requests,
        duration_s=duration,
        requests_per_s=requests / duration,
        p50_ms=p50,
        p99_ms=p99,
        errors=errors,
        cpu_ms_per_request=cpu,
        db_cpu_ms_per_request=db_cpu,
    )


def test_rounds_combine_into_totals_and_median_percentiles() -> None:
    combined = combine_runs(
        [
            run(100, 2.0, 1.0, 9.0, 2.0),
            run(300, 2.0, 3.0, 5.0, 1.0, 1),
            run(200, 2.0, 2.0, 7.0, 4.0),
        ]
    )
    assert combined.requests == 600
    assert combined.duration_s == 6.0
    assert combined.requests_per_s == 100.0
    assert (combined.p50_ms, combined.p99_ms) == (2.0, 7.0)
    assert combined.errors == 1
    # CPU per request over every request: (100 * 2 + 300 * 1 + 200 * 4) / 600.
    assert math.isclose(combined.cpu_ms_per_request, 1300 / 600)
    # No PostgreSQL seen on this machine: no figure, not a zero.
    assert math.isnan(combined.db_cpu_ms_per_request)


def test_postgres_cpu_combines_over_every_request() -> None:
    combined = combine_runs(
        [run(100, 2.0, 1.0, 2.0, 2.0, db_cpu=1.0), run(300, 2.0, 1.0, 2.0, 2.0, db_cpu=0.5)]
    )
    assert math.isclose(combined.db_cpu_ms_per_request, (100 * 1.0 + 300 * 0.5) / 400)


@dataclass
class Recorder:
    """A server and its load in one: records which side ran, serves fixed answers."""

    name: str
    log: list[tuple[str, int]]
    cpu: float = 0.0
    rss: int = 1024

    def rss_kib(self) -> int:
        return self.rss

    def cpu_s(self) -> float:
        return self.cpu

    def check_alive(self) -> None:
        return None

    def run(self, query: Query, concurrency: int, seconds: int, path: str) -> Run:
        self.log.append((self.name, concurrency))
        self.cpu += 0.5
        return Run(concurrency, 100, float(seconds), 100 / seconds, 1.0, 2.0, 0)


def test_sides_alternate_so_drift_falls_on_both() -> None:
    log: list[tuple[str, int]] = []
    mine, floor = Recorder("slotgraph", log), Recorder("floor", log)
    query = Query("s", "slot types", "the slot-type list", {"query": "{ __typename }"}, 1)
    ours_side = Side(mine, mine, "/graphql", 1)  # type: ignore[arg-type]
    floor_side = Side(floor, floor, "/floor/s", 1)  # type: ignore[arg-type]
    ours, theirs = measure_pair(ours_side, floor_side, query, warmup_s=0, duration_s=2, rounds=4)
    expected: list[tuple[str, int]] = []
    for concurrency in CONCURRENCIES:
        expected += [
            ("slotgraph", concurrency),
            ("floor", concurrency),
            ("floor", concurrency),
            ("slotgraph", concurrency),
        ] * 2
    assert log == expected
    assert [r.requests for r in ours.runs] == [400] * len(CONCURRENCIES)
    assert ours.server == "slotgraph"
    assert theirs.server == "floor"
    # Each run cost its own side 0.5 s of CPU for 100 requests: 5 ms per request.
    assert all(math.isclose(r.cpu_ms_per_request, 5.0) for r in (*ours.runs, *theirs.runs))


@dataclass
class Pages:
    """One server under one load whose answers slow down run after run (a drifting
    machine), logging which query each run was."""

    log: list[tuple[str, int]]
    slowdown: float = 1.0

    def cpu_s(self) -> float:
        return 0.0

    def check_alive(self) -> None:
        return None

    def run(self, query: Query, concurrency: int, seconds: int, path: str) -> Run:
        self.log.append((query.key, concurrency))
        self.slowdown *= 1.1
        p50 = 1.0 * self.slowdown
        return Run(concurrency, 100, float(seconds), 100 / seconds / self.slowdown, p50, p50, 0)


def test_the_deep_page_alternates_with_the_first_so_drift_falls_on_both() -> None:
    log: list[tuple[str, int]] = []
    pages = Pages(log)
    deep = Query("e", "deep", "the deep page", {"query": "{ __typename }"}, 1)
    first = Query("f", "first", "the first page", {"query": "{ __typename }"}, 1)
    measured = deep_against_first(pages, pages, deep, first, 0, 2, 4)  # type: ignore[arg-type]
    for concurrency in CONCURRENCIES:
        runs = [entry for entry in log if entry[1] == concurrency]
        assert [key for key, _ in runs] == ["e", "f", "f", "e"] * 2
    assert [page.concurrency for page in measured] == list(CONCURRENCIES)
    # The same query on a machine 10% slower each run: alternating, both sides see the
    # same slowdown, and their ratios stay within a few percent of 1 (run back to back
    # they would be ~1.5 apart).
    for page in measured:
        assert 0.9 < page.deep.p50_ms / page.first.p50_ms < 1.1
        assert 0.9 < page.first.requests_per_s / page.deep.requests_per_s < 1.1


def comparison(key: str, concurrency: int, requests_per_s: float, p50_ms: float) -> Comparison:
    nan = math.nan
    return Comparison(
        key, key, concurrency, requests_per_s, nan, nan, p50_ms, nan, nan, nan, nan, nan,
        1, 1, 1.0, nan, nan, nan, nan, nan, nan, 0, 0, 0, 0, 0, 0,
    )  # fmt: skip


def deep_targets(targets: list[Target]) -> list[tuple[str, bool]]:
    return [(t.value, t.passed) for t in targets if t.target.startswith("deep cursor page")]


def test_the_deep_page_targets_come_from_the_alternating_runs() -> None:
    low, high = CONCURRENCIES[0], CONCURRENCIES[-1]
    # In the table, measured minutes apart: e 1.5 times slower than f.
    table = [
        comparison("e", low, 100.0, 1.5),
        comparison("f", low, 150.0, 1.0),
        comparison("e", high, 100.0, 1.5),
        comparison("f", high, 150.0, 1.0),
    ]
    assert deep_targets(evaluate(table, {}, {}, None)) == [("1.50", False), ("1.50", False)]
    alternating = [
        DeepPage(low, run(100, 1.0, 1.1, 2.0, 1.0), run(100, 1.0, 1.0, 2.0, 1.0)),
        DeepPage(high, run(95, 1.0, 1.0, 2.0, 1.0), run(100, 1.0, 1.0, 2.0, 1.0)),
    ]
    targets = evaluate(table, {}, {}, None, alternating)
    assert deep_targets(targets) == [("1.10", True), ("1.05", True)]
