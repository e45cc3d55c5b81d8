"""The printed schema is committed: a change to schema/ without `make schema` fails here."""

from __future__ import annotations

import difflib

from app.schema import SCHEMA_LOCK, printed_schema


def test_committed_printed_schema_matches_the_sdl() -> None:
    committed = SCHEMA_LOCK.read_text()
    current = printed_schema()
    diff = "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            "schema.lock.graphql (committed)",
            "schema/ (working tree)",
        )
    )
    assert not diff, f"schema/ changed; run `make schema` and commit the result:\n{diff}"
