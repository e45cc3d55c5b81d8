"""SLOTGRAPH_FAST_EXECUTION: on by default, off on request, and a bad value is refused."""

from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_fast_execution_is_on_by_default_and_can_be_turned_off() -> None:
    assert Settings.from_env({}).fast_execution is True
    assert Settings.from_env({"SLOTGRAPH_FAST_EXECUTION": "false"}).fast_execution is False
    assert Settings.from_env({"SLOTGRAPH_FAST_EXECUTION": "1"}).fast_execution is True
    with pytest.raises(SettingsError, match="SLOTGRAPH_FAST_EXECUTION"):
        Settings.from_env({"SLOTGRAPH_FAST_EXECUTION": "sometimes"})
