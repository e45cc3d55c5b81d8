from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert (settings.default_page_size, settings.max_page_size) == (10, 1000)
    assert settings.statement_timeout_ms == 5000
    assert settings.introspection
    assert settings.playground
    assert not settings.debug


def test_production_turns_off_introspection_and_playground_unless_asked() -> None:
    settings = Settings.from_env({"SLOTGRAPH_ENV": "production"})
    assert not settings.introspection
    assert not settings.playground
    settings = Settings.from_env({"SLOTGRAPH_ENV": "production", "SLOTGRAPH_INTROSPECTION": "yes"})
    assert settings.introspection


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SLOTGRAPH_MAX_PAGE_SIZE": "lots"},
            "SLOTGRAPH_MAX_PAGE_SIZE must be a whole number, got 'lots'",
        ),
        ({"SLOTGRAPH_MAX_PAGE_SIZE": "0"}, "SLOTGRAPH_MAX_PAGE_SIZE must be at least 1, got 0"),
        (
            {"SLOTGRAPH_DEBUG": "maybe"},
            "SLOTGRAPH_DEBUG must be true or false (1/0, yes/no, on/off), got 'maybe'",
        ),
        (
            {"SLOTGRAPH_ENV": "staging"},
            "SLOTGRAPH_ENV must be 'development' or 'production', got 'staging'",
        ),
        (
            {"SLOTGRAPH_DEFAULT_PAGE_SIZE": "50", "SLOTGRAPH_MAX_PAGE_SIZE": "20"},
            "SLOTGRAPH_DEFAULT_PAGE_SIZE must not exceed SLOTGRAPH_MAX_PAGE_SIZE (50 > 20)",
        ),
    ],
)
def test_bad_values_say_what_to_change(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message


def test_port_range_and_debug_in_production_are_checked() -> None:
    with pytest.raises(SettingsError, match="SLOTGRAPH_PORT must be at most 65535, got 70000"):
        Settings.from_env({"SLOTGRAPH_PORT": "70000"})
    with pytest.raises(SettingsError, match="must stay off when SLOTGRAPH_ENV=production"):
        Settings.from_env({"SLOTGRAPH_ENV": "production", "SLOTGRAPH_DEBUG": "1"})
