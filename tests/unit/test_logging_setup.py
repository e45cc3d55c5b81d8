"""The service's logging, as a process gets it (run in a child process: it is global)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, sys
from app.logging_setup import configure_logging
configure_logging(sys.argv[1])
assert (logging.logThreads, logging.logProcesses, logging.logMultiprocessing) == (False,) * 3
logging.getLogger("slotgraph.http").info(
    "graphql request_id=%s statements=%d", "r1", 2,
    extra={"event": "graphql request", "fields": {"request_id": "r1", "statements": 2}},
)
"""


def _logged(log_format: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, log_format],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stderr.strip()


def test_lean_records_keep_both_formats() -> None:
    """Records no longer look up their caller, thread or process; the lines are unchanged."""
    assert _logged("text") == "INFO slotgraph.http: graphql request_id=r1 statements=2"
    entry = json.loads(_logged("json"))
    assert entry.pop("time").endswith("Z")
    assert entry == {
        "level": "info",
        "logger": "slotgraph.http",
        "message": "graphql request",
        "request_id": "r1",
        "statements": 2,
    }
