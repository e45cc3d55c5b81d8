"""Alembic environment: async (asyncpg) over the Core metadata in app.tables."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.db import sqlalchemy_url
from app.tables import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # Plain `alembic` on the command line: same resolution as the service.
    from app.settings import Settings

    settings = Settings.from_env()
    if settings.database_url is None:
        raise SystemExit(
            "DATABASE_URL is not set. Use `python -m app migrate`, which also starts the "
            "embedded PostgreSQL, or set DATABASE_URL."
        )
    return sqlalchemy_url(settings.database_url)


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
