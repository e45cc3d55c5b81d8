"""Apps with their own settings (tight limits, small pools), each with its own pool, for the
cases the shared app's defaults cannot show."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings

Client = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_with(settings: Settings, superadmin_token: str) -> Client:
    """`async with client_with(max_depth=3) as http:` a superadmin client of an app with
    those settings changed."""

    @asynccontextmanager
    async def open_client(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(replace(settings, **changes))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                headers={"Authorization": f"Bearer {superadmin_token}"},
            ) as http:
                yield http

    return open_client
