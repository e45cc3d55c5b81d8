"""slotgraph as an application factory for uvicorn's `--factory --workers N`, for builds whose
`python -m app serve` cannot start workers itself: uvicorn needs an import string to start
each worker, and the CLI builds its app in-process.

It does what `python -m app serve` does before it hands the app to uvicorn: settings from the
environment (DATABASE_URL must be set), the same logging (one INFO line per GraphQL request,
which carries the statement count the benchmark reads), `create_app(settings)`.
"""

from __future__ import annotations

import logging

from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings


def slotgraph_app() -> Starlette:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if settings.database_url is None:
        raise RuntimeError("DATABASE_URL must be set; the benchmark starts its own database")
    return create_app(settings)
