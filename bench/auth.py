"""Does a wrong secret take as long as an unknown key? Interleaved in-process requests with
the key cache off, so every request does the lookup, the hash and the comparison.

    DATABASE_URL=postgresql://… python -m bench.auth [--requests N]

The database must be migrated; a throw-away user key is created in it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

import httpx

from app.apikeys import create_key
from app.main import create_app
from app.settings import Settings

WARMUP = 100


async def measure(database_url: str, requests: int) -> dict[str, list[float]]:
    issued = await create_key(
        database_url, role="user", user_uuid=uuid.uuid4(), domain="bench-auth"
    )
    wrong = issued.token[:-1] + ("A" if issued.token[-1] != "A" else "B")
    unknown = "sg_" + "f" * 16 + issued.token[19:]
    cases = {"wrong secret": wrong, "unknown key": unknown}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    app = create_app(replace(Settings(), database_url=database_url, auth_cache_seconds=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for i in range(requests + WARMUP):
                # Alternate which case goes first, so drift affects both alike.
                order = list(cases.items()) if i % 2 else list(reversed(cases.items()))
                for name, token in order:
                    started = time.perf_counter()
                    response = await client.post(
                        "/graphql",
                        json={"query": "{ __typename }"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    elapsed = time.perf_counter() - started
                    if response.status_code != 401:
                        raise SystemExit(f"expected 401, got {response.status_code}")
                    if i >= WARMUP:
                        samples[name].append(elapsed)
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per case")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("set DATABASE_URL to a migrated database", file=sys.stderr)
        return 2
    samples = asyncio.run(measure(database_url, args.requests))
    print(f"{'case':<14} {'median µs':>10} {'p90 µs':>10}  ({args.requests} requests each)")
    for name, values in samples.items():
        ordered = sorted(values)
        print(
            f"{name:<14} {statistics.median(values) * 1e6:>10.1f} "
            f"{ordered[int(len(ordered) * 0.9)] * 1e6:>10.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
