"""Every tunable of the service, read once from the environment.

Each limit is a named setting with a default; a bad value stops start-up with a message
that names the variable and says what it expects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Environment = Literal["development", "production"]


class SettingsError(ValueError):
    """A setting in the environment has a value the service cannot use."""


def _int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false (1/0, yes/no, on/off), got {raw!r}")


@dataclass(frozen=True)
class Settings:
    # None means: start the embedded PostgreSQL under `data_dir`.
    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".slotgraph")
    environment: Environment = "development"
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    default_page_size: int = 10
    max_page_size: int = 1000
    pool_min_size: int = 1
    pool_max_size: int = 10
    statement_timeout_ms: int = 5000
    introspection: bool = True
    playground: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = env.get("SLOTGRAPH_ENV", "development").strip() or "development"
        if environment not in ("development", "production"):
            raise SettingsError(
                f"SLOTGRAPH_ENV must be 'development' or 'production', got {environment!r}"
            )
        production = environment == "production"
        data_dir = env.get("SLOTGRAPH_DATA_DIR")
        settings = cls(
            database_url=env.get("DATABASE_URL") or None,
            data_dir=Path(data_dir) if data_dir else PROJECT_ROOT / ".slotgraph",
            environment="production" if production else "development",
            debug=_bool(env, "SLOTGRAPH_DEBUG", False),
            host=env.get("SLOTGRAPH_HOST", "127.0.0.1"),
            port=_int(env, "SLOTGRAPH_PORT", 8000, maximum=65535),
            default_page_size=_int(env, "SLOTGRAPH_DEFAULT_PAGE_SIZE", 10),
            max_page_size=_int(env, "SLOTGRAPH_MAX_PAGE_SIZE", 1000),
            pool_min_size=_int(env, "SLOTGRAPH_POOL_MIN_SIZE", 1),
            pool_max_size=_int(env, "SLOTGRAPH_POOL_MAX_SIZE", 10),
            statement_timeout_ms=_int(env, "SLOTGRAPH_STATEMENT_TIMEOUT_MS", 5000),
            introspection=_bool(env, "SLOTGRAPH_INTROSPECTION", not production),
            playground=_bool(env, "SLOTGRAPH_PLAYGROUND", not production),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.environment == "production" and self.debug:
            raise SettingsError(
                "SLOTGRAPH_DEBUG unmasks internal errors and must stay off when "
                "SLOTGRAPH_ENV=production"
            )
        if self.default_page_size > self.max_page_size:
            raise SettingsError(
                "SLOTGRAPH_DEFAULT_PAGE_SIZE must not exceed SLOTGRAPH_MAX_PAGE_SIZE "
                f"({self.default_page_size} > {self.max_page_size})"
            )
        if self.pool_min_size > self.pool_max_size:
            raise SettingsError(
                "SLOTGRAPH_POOL_MIN_SIZE must not exceed SLOTGRAPH_POOL_MAX_SIZE "
                f"({self.pool_min_size} > {self.pool_max_size})"
            )

    def with_database(self, url: str) -> Settings:
        return replace(self, database_url=url)
