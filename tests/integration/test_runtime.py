"""The Python runtime as a started server tunes it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.main import GC_THRESHOLDS, create_app
from app.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
@pytest.mark.parametrize("tuning", [True, False])
async def test_a_started_app_freezes_its_heap_and_collects_less_often(
    settings: Settings, tuning: bool
) -> None:
    gc.unfreeze()
    defaults = gc.get_threshold()
    app = create_app(replace(settings, gc_tuning=tuning))
    async with app.router.lifespan_context(app):
        if tuning:
            assert gc.get_threshold() == GC_THRESHOLDS
            # The schema, among what was alive at start-up, is out of the collector's sight.
            assert gc.get_freeze_count() > 10_000
        else:
            assert gc.get_threshold() == defaults
            assert gc.get_freeze_count() == 0
