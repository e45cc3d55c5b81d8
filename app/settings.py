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
LogFormat = Literal["text", "json"]


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


def _log_format(env: Mapping[str, str], default: LogFormat) -> LogFormat:
    raw = env.get("SLOTGRAPH_LOG_FORMAT", "").strip().lower()
    if raw == "":
        return default
    if raw == "text":
        return "text"
    if raw == "json":
        return "json"
    raise SettingsError(f"SLOTGRAPH_LOG_FORMAT must be 'text' or 'json', got {raw!r}")


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
    # Complete plain subtrees without graphql-core's per-field machinery (app.execution);
    # off runs stock graphql-core, e.g. to rule the fast path out when chasing a bug.
    fast_execution: bool = True
    gc_tuning: bool = True
    # Query limits (app/limits.py), checked before anything executes. README "Limits and
    # safety" says why each default is what it is.
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_root_fields: int = 10
    max_cost: int = 50_000
    max_input_depth: int = 20
    max_body_bytes: int = 1024 * 1024
    # Longer than the statement timeout, so one slow statement answers with its own error.
    request_timeout_ms: int = 10_000
    # How long a request may wait for a pool connection before it is told to retry.
    pool_timeout_ms: int = 5000
    workers: int = 1
    # Below the 30 s most orchestrators wait before they kill a stopping process.
    shutdown_timeout_s: int = 20
    log_format: LogFormat = "text"
    # uvicorn's access log: a second line per request beside the request's own (which
    # carries the status and duration too), and one per health check.
    access_log: bool = False
    # How long a verified API key is trusted without asking the database again: a revoked
    # key keeps working on a worker for at most this long.
    auth_cache_seconds: int = 10
    # Local demo only: the token the playground page sends. Never set in production.
    playground_token: str | None = None

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
            fast_execution=_bool(env, "SLOTGRAPH_FAST_EXECUTION", True),
            gc_tuning=_bool(env, "SLOTGRAPH_GC_TUNING", True),
            max_depth=_int(env, "SLOTGRAPH_MAX_DEPTH", 12),
            max_aliases=_int(env, "SLOTGRAPH_MAX_ALIASES", 30, minimum=0),
            max_tokens=_int(env, "SLOTGRAPH_MAX_TOKENS", 5000),
            max_root_fields=_int(env, "SLOTGRAPH_MAX_ROOT_FIELDS", 10),
            max_cost=_int(env, "SLOTGRAPH_MAX_COST", 50_000),
            max_input_depth=_int(env, "SLOTGRAPH_MAX_INPUT_DEPTH", 20),
            max_body_bytes=_int(env, "SLOTGRAPH_MAX_BODY_BYTES", 1024 * 1024),
            request_timeout_ms=_int(env, "SLOTGRAPH_REQUEST_TIMEOUT_MS", 10_000),
            pool_timeout_ms=_int(env, "SLOTGRAPH_POOL_TIMEOUT_MS", 5000),
            workers=_int(env, "SLOTGRAPH_WORKERS", 1, maximum=64),
            shutdown_timeout_s=_int(env, "SLOTGRAPH_SHUTDOWN_TIMEOUT_S", 20, minimum=0),
            log_format=_log_format(env, "json" if production else "text"),
            access_log=_bool(env, "SLOTGRAPH_ACCESS_LOG", False),
            auth_cache_seconds=_int(env, "SLOTGRAPH_AUTH_CACHE_SECONDS", 10, minimum=0),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.environment == "production" and self.playground_token is not None:
            raise SettingsError(
                "a playground API key is for the local demo only; production pages never "
                "embed a key (run without --demo when SLOTGRAPH_ENV=production)"
            )
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
