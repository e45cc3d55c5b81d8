"""The request log line: its text form (parsed by the benchmarks) and its JSON form."""

from __future__ import annotations

import json
import logging
import re
import sys

import pytest

from app.logging_setup import JsonFormatter
from tests.conftest import GraphQLClient


async def test_one_text_line_per_request(
    gql: GraphQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="slotgraph.http")
    await gql.http.post(
        "/graphql",
        json={"query": "query Q { resourceSlotTypes { count } }", "operationName": "Q"},
        headers={"x-request-id": "log-text-1"},
    )
    [line] = [r.getMessage() for r in caplog.records if "log-text-1" in r.getMessage()]
    assert re.fullmatch(
        r"graphql request_id=log-text-1 operation=Q statements=1 duration_ms=\d+\.\d\d status=200",
        line,
    )
    [record] = [r for r in caplog.records if "log-text-1" in r.getMessage()]
    assert json.loads(JsonFormatter().format(record)) | {"time": "", "duration_ms": 0} == {
        "time": "",
        "level": "info",
        "logger": "slotgraph.http",
        "message": "graphql request",
        "request_id": "log-text-1",
        "operation": "Q",
        "statements": 1,
        "duration_ms": 0,
        "status": 200,
    }


def test_json_lines_carry_exceptions() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed here"
    assert "RuntimeError: boom" in entry["exception"]
