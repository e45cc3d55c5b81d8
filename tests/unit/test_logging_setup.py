"""The service's logging, as a process gets it (run in a child process: it is global)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

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


DIRECT_SCRIPT = """
import json, logging, sys, time
from app.logging_setup import ServiceHandler, configure_logging
from app import http
configure_logging(sys.argv[1])
log = logging.getLogger("slotgraph.http")
assert ServiceHandler.direct(log, logging.INFO) is not None
data = {"operationName": "Slots"}
started = time.perf_counter()
http.log_request("r1", data, 2, started, 200)  # straight to the handler
blocked = lambda record: True  # a filter: the line must go through logging
log.addFilter(blocked)
assert ServiceHandler.direct(log, logging.INFO) is None
http.log_request("r1", data, 2, started, 200)
log.removeFilter(blocked)
"""


def _direct_and_logged(log_format: str) -> tuple[str, str]:
    direct, logged = _child(DIRECT_SCRIPT, log_format).stderr.strip().splitlines()
    return direct, logged


def _without_duration(line: str) -> str:
    return re.sub(r"duration_ms=[0-9.]+", "duration_ms=D", line)


def test_the_request_line_written_directly_is_the_logged_one() -> None:
    """The request line written without a record reads as the record would have."""
    direct, logged = _direct_and_logged("text")
    assert _without_duration(direct) == _without_duration(logged)
    assert re.fullmatch(
        r"INFO slotgraph\.http: graphql request_id=r1 operation=Slots statements=2 "
        r"duration_ms=[0-9.]+ status=200",
        direct,
    )
    entries = [json.loads(line) for line in _direct_and_logged("json")]
    for entry in entries:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.pop("time"))
        assert isinstance(entry.pop("duration_ms"), float)
    assert (
        entries[0]
        == entries[1]
        == {
            "level": "info",
            "logger": "slotgraph.http",
            "message": "graphql request",
            "request_id": "r1",
            "operation": "Slots",
            "statements": 2,
            "status": 200,
        }
    )


ROUTE_SCRIPT = """
import logging, sys
from app.logging_setup import ServiceHandler, configure_logging
configure_logging("json")
log = logging.getLogger("slotgraph.http")
parent = logging.getLogger("slotgraph")
root = logging.getLogger()
handler = root.handlers[0]

def direct():
    return ServiceHandler.direct(log, logging.INFO) is not None

seen = {"plain": direct()}
other = logging.StreamHandler(sys.stdout)
root.addHandler(other)  # e.g. pytest's log capture
seen["second root handler"] = direct()
root.removeHandler(other)
parent.addHandler(other)
seen["handler on a parent"] = direct()
parent.removeHandler(other)
log.setLevel(logging.WARNING)
seen["logger above INFO"] = direct()
log.setLevel(logging.NOTSET)
handler.setLevel(logging.WARNING)
seen["handler above INFO"] = direct()
handler.setLevel(logging.NOTSET)
handler.addFilter(lambda record: True)
seen["handler filter"] = direct()
handler.filters.clear()
root.addFilter(lambda record: True)
seen["root filter"] = direct()
root.filters.clear()
parent.propagate = False
seen["parent keeps its lines"] = direct()
parent.propagate = True
logging.disable(logging.INFO)
seen["disabled"] = direct()
logging.disable(logging.NOTSET)
handler.setFormatter(logging.Formatter("%(message)s"))
seen["another formatter"] = direct()
print(seen)
"""


def test_the_request_line_goes_through_logging_when_anything_else_would_see_it() -> None:
    seen = ast.literal_eval(_child(ROUTE_SCRIPT, "").stdout.strip())
    assert seen.pop("plain") is True
    assert seen == dict.fromkeys(seen, False)
    assert len(seen) == 9


BUFFER_SCRIPT = """
import logging, os, sys, time
from app.logging_setup import ServiceHandler, configure_logging, write_at_once
configure_logging("text")
handler = logging.getLogger().handlers[0]
path = sys.argv[1]
handler.setStream(open(path, "w"))
log = logging.getLogger("slotgraph.http")

def written():
    with open(path) as f:
        return f.read().splitlines()

seen = {}
log.info("first")
log.info("second")
seen["at once"] = written()
time.sleep(ServiceHandler.FLUSH_S * 4)
seen["after a while"] = written()
log.info("third")
log.warning("trouble")
seen["with a warning"] = written()
for i in range(ServiceHandler.BUFFER_CHARS // 20):
    log.info("%020d", i)
seen["many"] = len(written()) > 4
pid = os.fork()
if pid == 0:
    log.info("from the child")
    time.sleep(ServiceHandler.FLUSH_S * 4)
    os._exit(0 if "INFO slotgraph.http: from the child" in written() else 1)
seen["child"] = os.waitpid(pid, 0)[1]
log.info("waiting")
write_at_once()  # the service shuts down
seen["at shutdown"] = written()[-1]
log.info("last")
seen["after shutdown"] = written()[-1]
print(seen)
"""


def test_lines_are_written_in_batches_in_order(tmp_path: Path) -> None:
    path = tmp_path / "service.log"
    seen = ast.literal_eval(_child(BUFFER_SCRIPT, str(path)).stdout.strip())
    info = "INFO slotgraph.http: "
    assert seen["at once"] == []  # waiting for the flusher
    assert seen["after a while"] == [info + "first", info + "second"]
    # A warning is written at once, after what waited before it.
    assert seen["with a warning"][-2:] == [info + "third", "WARNING slotgraph.http: trouble"]
    assert seen["many"] is True  # a full buffer is written without waiting
    assert seen["child"] == 0  # a forked child's lines are written too
    # From the service's shutdown on, every line is written at once.
    assert seen["at shutdown"] == info + "waiting"
    assert seen["after shutdown"] == info + "last"
