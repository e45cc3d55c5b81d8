"""`python -m app serve` as production runs it: worker processes, one JSON log line per
request, and a graceful shutdown that finishes the requests in flight."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.settings import PROJECT_ROOT

pytestmark = pytest.mark.usefixtures("demo_loaded")


def start(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--workers", "2"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_workers_json_logs_and_graceful_shutdown(
    database_url: str, superadmin_token: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLOTGRAPH_")}
    env |= {
        "DATABASE_URL": database_url,
        "SLOTGRAPH_ENV": "production",
        "SLOTGRAPH_PORT": str(port),
        "SLOTGRAPH_STATEMENT_TIMEOUT_MS": "60000",
        "SLOTGRAPH_REQUEST_TIMEOUT_MS": "60000",
        "SLOTGRAPH_SHUTDOWN_TIMEOUT_S": "30",
    }
    log_path = tmp_path / "serve.log"
    process = start(env, log_path)
    admin = await asyncpg.connect(database_url)
    headers = {"Authorization": f"Bearer {superadmin_token}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
        ) as http:
            for _ in range(600):
                assert process.poll() is None, log_path.read_text()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            response = await http.post(
                "/graphql",
                json={
                    "query": "query Slots { resourceSlotTypes { count } }",
                    "operationName": "Slots",
                },
                headers={"x-request-id": "serve-json-1"},
            )
            assert response.json() == {"data": {"resourceSlotTypes": {"count": 14}}}

            # A request in flight when SIGTERM arrives still gets its answer.
            async with admin.transaction():
                await admin.execute("LOCK TABLE agents IN ACCESS EXCLUSIVE MODE")
                in_flight = asyncio.create_task(
                    http.post("/graphql", json={"query": "{ agentsV2(first: 1) { count } }"})
                )
                for _ in range(200):
                    blocked = await admin.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                        "'slotgraph' AND wait_event_type = 'Lock'"
                    )
                    if blocked:
                        break
                    await asyncio.sleep(0.05)
                assert blocked == 1
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1)
                assert process.poll() is None, "the service stopped with a request in flight"
            answered = await asyncio.wait_for(in_flight, 60)
            assert answered.status_code == 200
            assert answered.json()["data"]["agentsV2"]["count"] > 0
        assert await asyncio.to_thread(process.wait, 60) == 0
    finally:
        await admin.close()
        if process.poll() is None:
            process.kill()
            process.wait(10)

    lines = log_path.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    [request] = [e for e in entries if e.get("request_id") == "serve-json-1"]
    assert request["message"] == "graphql request"
    assert request["operation"] == "Slots"
    assert request["statements"] == 2  # its worker's first request: the key lookup, the query
    assert request["status"] == 200
    assert isinstance(request["duration_ms"], float)
    assert {"time", "level", "logger"} <= request.keys()
    # One line per request: uvicorn's access log stays off unless SLOTGRAPH_ACCESS_LOG asks.
    assert not [e for e in entries if e.get("logger") == "uvicorn.access"]
    assert len([e for e in entries if e.get("message") == "graphql request"]) == 2
    started = [e for e in entries if str(e.get("message", "")).startswith("Started server process")]
    assert len(started) == 2
