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


def _child(script: str, argument: str) -> subprocess.CompletedProcess[str]:
    """`script` run with `argument` in a child process (logging is global state)."""
    return subprocess.run(
        [sys.executable, "-c", script, argument],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def _logged(log_format: str) -> str:
    return _child(SCRIPT, log_format).stderr.strip()


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


ACCESS_SCRIPT = """
import logging, sys
import uvicorn
from app.cli import uvicorn_options
from app.settings import Settings
settings = Settings.from_env({"SLOTGRAPH_ACCESS_LOG": sys.argv[1]})
uvicorn.Config(lambda *_: None, **uvicorn_options(settings))  # applies the logging config
# What uvicorn's HTTP protocols ask before they log an access line.
print(logging.getLogger("uvicorn.access").hasHandlers())
"""


def _access_logged(value: str) -> bool:
    return {"True": True, "False": False}[_child(ACCESS_SCRIPT, value).stdout.strip()]


def test_uvicorn_access_lines_only_when_asked() -> None:
    """One line per request by default: the request's own (tests/faults/test_serve.py)."""
    assert not _access_logged("")
    assert not _access_logged("false")
    assert _access_logged("true")


def test_json_time_is_each_records_own_across_seconds() -> None:
    """The formatted second is remembered between lines; each line still shows its own
    record's time, also when the clock steps back."""
    import logging
    import time

    from app.logging_setup import JsonFormatter

    formatter = JsonFormatter()
    for created in (1_700_000_000.25, 1_700_000_000.999, 1_700_000_001.0, 1_699_999_999.5, 0.0):
        record = logging.LogRecord("x", logging.INFO, "", 0, "m", None, None)
        record.created = created
        record.msecs = (created - int(created)) * 1000
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
        expected = f"{stamp}.{int(record.msecs):03d}Z"
        assert json.loads(formatter.format(record))["time"] == expected
