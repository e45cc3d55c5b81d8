from __future__ import annotations

import pytest

from app.settings import Settings, SettingsError


def test_every_limit_is_read_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "SLOTGRAPH_MAX_DEPTH": "7",
            "SLOTGRAPH_MAX_ALIASES": "0",
            "SLOTGRAPH_MAX_TOKENS": "900",
            "SLOTGRAPH_MAX_ROOT_FIELDS": "3",
            "SLOTGRAPH_MAX_COST": "1234",
            "SLOTGRAPH_MAX_INPUT_DEPTH": "9",
            "SLOTGRAPH_MAX_BODY_BYTES": "4096",
            "SLOTGRAPH_REQUEST_TIMEOUT_MS": "2500",
            "SLOTGRAPH_POOL_TIMEOUT_MS": "700",
            "SLOTGRAPH_WORKERS": "4",
            "SLOTGRAPH_SHUTDOWN_TIMEOUT_S": "0",
            "SLOTGRAPH_LOG_FORMAT": "JSON",
        }
    )
    assert (
        settings.max_depth,
        settings.max_aliases,
        settings.max_tokens,
        settings.max_root_fields,
        settings.max_cost,
        settings.max_input_depth,
        settings.max_body_bytes,
        settings.request_timeout_ms,
        settings.pool_timeout_ms,
        settings.workers,
        settings.shutdown_timeout_s,
        settings.log_format,
    ) == (7, 0, 900, 3, 1234, 9, 4096, 2500, 700, 4, 0, "json")


def test_logs_are_json_in_production_unless_asked() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"SLOTGRAPH_ENV": "production"}).log_format == "json"
    production_text = {"SLOTGRAPH_ENV": "production", "SLOTGRAPH_LOG_FORMAT": "text"}
    assert Settings.from_env(production_text).log_format == "text"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SLOTGRAPH_LOG_FORMAT": "xml"},
            "SLOTGRAPH_LOG_FORMAT must be 'text' or 'json', got 'xml'",
        ),
        ({"SLOTGRAPH_MAX_DEPTH": "0"}, "SLOTGRAPH_MAX_DEPTH must be at least 1, got 0"),
        ({"SLOTGRAPH_MAX_COST": "lots"}, "SLOTGRAPH_MAX_COST must be a whole number, got 'lots'"),
        ({"SLOTGRAPH_WORKERS": "65"}, "SLOTGRAPH_WORKERS must be at most 64, got 65"),
    ],
)
def test_bad_limits_say_what_to_change(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value) == message
