from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from app.db import Database
from app.settings import Settings


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """A database handle of its own (a small pool), apart from the app's."""
    database = Database(replace(settings, pool_min_size=1, pool_max_size=2))
    await database.connect()
    try:
        yield database
    finally:
        await database.disconnect()
