"""The benchmark's PostgreSQL CPU: what the test database's own server spends, seen from here."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import asyncpg
import psutil
import pytest

from bench.common import Query, Run, measured_run, postgres_cpu, postgres_cpu_since

QUERY = Query("t", "typename", "the fixed cost", {"query": "{ __typename }"}, 1)
# A few hundred ms of one core on this kind of machine: well over the clock's 10 ms tick.
BUSY = "SELECT count(*) FROM generate_series(1, 5000000)"


class BusyServer:
    """A server whose CPU never moves and a load that keeps PostgreSQL busy on one open
    connection (a backend that ends takes its CPU figures with it, as the benchmark's
    long-lived pool connections never do)."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.connection: asyncpg.Connection = self.loop.run_until_complete(
            asyncpg.connect(database_url, server_settings={"max_parallel_workers_per_gather": "0"})
        )

    def busy(self) -> None:
        self.loop.run_until_complete(self.connection.fetchval(BUSY))

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()

    def cpu_s(self) -> float:
        return 1.0

    def run(self, query: Query, concurrency: int, seconds: int, path: str) -> Run:
        self.busy()
        return Run(concurrency, 10, float(seconds), 10 / seconds, 1.0, 2.0, 0)


@pytest.fixture
def server(database_url: str) -> Iterator[BusyServer]:
    busy = BusyServer(database_url)
    yield busy
    busy.close()


def test_the_servers_cpu_grows_by_what_a_statement_costs(server: BusyServer) -> None:
    before = postgres_cpu()
    assert before is not None, "the test database's server runs on this machine"
    server.busy()
    spent = postgres_cpu_since(before)
    assert spent is not None
    assert spent >= 0.05


def test_a_backend_that_ends_during_a_run_takes_its_cpu_not_the_others(
    database_url: str,
) -> None:
    """A backend that ends between the two readings (a closed connection, an autovacuum
    worker) leaves the sum: the figure is what the others spent, never below zero (a
    difference of two totals went negative when a busy backend ended in between)."""
    ending = BusyServer(database_url)
    ending.busy()  # a backend with CPU behind it, about to end
    pid = ending.loop.run_until_complete(ending.connection.fetchval("SELECT pg_backend_pid()"))
    backend = psutil.Process(pid)
    before = postgres_cpu()
    ending.close()
    backend.wait(timeout=10)  # gone, with its CPU
    spent = postgres_cpu_since(before)
    assert spent is not None
    assert 0.0 <= spent < 0.05


def test_a_run_reports_postgres_cpu_per_request(server: BusyServer) -> None:
    run = measured_run(server, server, QUERY, 1, 1, "/graphql")  # type: ignore[arg-type]
    assert run.cpu_ms_per_request == 0.0
    # The busy statement's CPU (at least 50 ms) over the run's 10 requests.
    assert not math.isnan(run.db_cpu_ms_per_request)
    assert run.db_cpu_ms_per_request >= 5.0
