"""A deterministic demo data set: agents with mixed accelerators, kernels in every state,
and their per-slot rows. `make run` loads a small one; the benchmarks load the same
generator at scale. The same seed always gives the same rows.

Rows go in with COPY (asyncpg's copy_records_to_table): 200,000 kernels and their
allocations load in seconds, not minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.db import connected

GIB = 1024**3
# Bump when the generator's output changes, so cached benchmark data sets are rebuilt.
VERSION = 2

# (slot name, per-device capacity choices): an agent carries at most one accelerator kind.
ACCELERATORS: Sequence[tuple[str, Sequence[int]]] = (
    ("cuda.device", (1, 2, 4, 8)),
    ("cuda.shares", (1, 2, 4, 8)),
    ("rocm.device", (2, 4, 8)),
    ("tpu.device", (4, 8)),
    ("ipu.device", (4, 16)),
    ("atom-plus.device", (2, 4)),
    ("gaudi2.device", (8,)),
    ("warboy.device", (2, 4)),
    ("rngd.device", (2, 8)),
    ("hyperaccel-lpu.device", (1, 2)),
)
AGENT_STATUSES = (("ALIVE", 85), ("LOST", 6), ("RESTARTING", 3), ("TERMINATED", 6))
KERNEL_STATUSES = (
    ("PENDING", 6),
    ("SCHEDULED", 3),
    ("PREPARING", 2),
    ("PREPARED", 2),
    ("CREATING", 2),
    ("RUNNING", 35),
    ("TERMINATING", 3),
    ("TERMINATED", 40),
    ("CANCELLED", 7),
)
SESSION_TYPES = (("INTERACTIVE", 50), ("BATCH", 35), ("INFERENCE", 12), ("SYSTEM", 3))
REGIONS = ("kr-seoul-1", "kr-daejeon-1", "us-west-2")
SCALING_GROUPS = ("default", "gpu", "inference", "edu")
DOMAINS = ("default", "research", "edu")
IMAGES = (
    "cr.backend.ai/stable/python:3.11-ubuntu22.04",
    "cr.backend.ai/stable/python-pytorch:2.5-py311-cuda12.4",
    "cr.backend.ai/stable/python-tensorflow:2.16-py311-cuda12.3",
    "cr.backend.ai/stable/vllm:0.6-cuda12.4",
)
# Kernels in these states hold their resources; measured usage exists once they run.
HOLDING = {"PREPARING", "PREPARED", "CREATING", "RUNNING", "TERMINATING"}
MEASURED = {"RUNNING", "TERMINATING", "TERMINATED"}
EPOCH = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
KERNEL_EPOCH = EPOCH + dt.timedelta(days=21)


def _weighted(rng: random.Random, choices: Sequence[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _amount(value: float | int) -> Decimal:
    return Decimal(value).quantize(Decimal("0.000001"))


@dataclass
class DemoData:
    agents: list[tuple[Any, ...]] = field(default_factory=list)
    agent_resources: list[tuple[Any, ...]] = field(default_factory=list)
    kernels: list[tuple[Any, ...]] = field(default_factory=list)
    allocations: list[tuple[Any, ...]] = field(default_factory=list)


AGENT_COLUMNS = (
    "id", "status", "status_changed", "first_contact", "lost_at", "region", "scaling_group",
    "schedulable", "addr", "architecture", "version", "compute_plugins",
)  # fmt: skip
AGENT_RESOURCE_COLUMNS = ("agent_id", "slot_name", "capacity", "used")
KERNEL_COLUMNS = (
    "id", "session_id", "session_name", "session_type", "cluster_mode", "cluster_size",
    "cluster_role", "cluster_idx", "local_rank", "cluster_hostname", "agent", "scaling_group",
    "domain_name", "group_id", "user_uuid", "access_key", "image", "container_id", "status",
    "result", "created_at", "terminated_at", "starts_at", "startup_command",
)  # fmt: skip
ALLOCATION_COLUMNS = ("kernel_id", "slot_name", "requested", "used", "used_at", "free_at")


def generate(agents: int, kernels: int, seed: int = 0) -> DemoData:
    """The rows of a demo cluster; the same arguments always give the same rows."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets

    def ids() -> uuid.UUID:
        # Deterministic UUIDs come from the seeded generator, never uuid4().
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    data = DemoData()
    agent_slots: list[dict[str, Decimal]] = []
    agent_ids: list[str] = []
    alive: list[int] = []
    for n in range(agents):
        agent_id = f"i-node{n + 1:05d}"
        status = _weighted(rng, AGENT_STATUSES)
        # Agents join during the first ten days; kernels start after that (KERNEL_EPOCH).
        first_contact = EPOCH + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 10))
        changed = first_contact + dt.timedelta(minutes=rng.randrange(1, 60 * 24 * 10))
        slots = {
            "cpu": _amount(rng.choice((16, 32, 64, 128))),
            "mem": _amount(rng.choice((64, 128, 256, 512)) * GIB),
        }
        plugins: dict[str, Any] = {}
        # Most agents carry one accelerator kind, some two, some none (CPU-only).
        kinds = rng.choices((0, 1, 2), weights=(15, 65, 20))[0]
        for accelerator, sizes in rng.sample(list(ACCELERATORS), kinds):
            slots[accelerator] = _amount(rng.choice(sizes))
            plugins[accelerator.split(".")[0]] = {"version": rng.choice(("1.2.0", "1.3.1"))}
        data.agents.append(
            (
                agent_id,
                status,
                changed,
                first_contact,
                changed if status == "LOST" else None,
                rng.choice(REGIONS),
                rng.choice(SCALING_GROUPS),
                status == "ALIVE" and rng.random() < 0.95,
                f"10.{n // 250 % 256}.{n % 250}.{rng.randrange(1, 255)}:6001",
                rng.choice(("x86_64", "x86_64", "aarch64")),
                rng.choice(("26.3.0", "26.2.4", "26.1.7")),
                plugins,
            )
        )
        agent_ids.append(agent_id)
        agent_slots.append(slots)
        if status == "ALIVE":
            alive.append(n)

    used: list[dict[str, Decimal]] = [dict.fromkeys(slots, Decimal(0)) for slots in agent_slots]
    users = [ids() for _ in range(max(8, kernels // 40))]
    groups = [ids() for _ in range(6)]
    for n in range(kernels):
        kernel_id = ids()
        status = _weighted(rng, KERNEL_STATUSES)
        scheduled = status != "PENDING" and not (status == "CANCELLED" and rng.random() < 0.5)
        # Kernels holding resources run on live agents; finished ones may be anywhere.
        candidates = alive if status in HOLDING and alive else range(agents)
        index = rng.choice(candidates) if agents and scheduled else None
        created = KERNEL_EPOCH + dt.timedelta(seconds=n * 7 + rng.randrange(0, 7))
        multi_node = rng.random() < 0.15
        cluster_size = rng.choice((2, 4)) if multi_node else 1
        cluster_idx = rng.randrange(cluster_size)
        role = "main" if cluster_idx == 0 else "sub"
        finished = status in ("TERMINATED", "CANCELLED")
        terminated = created + dt.timedelta(minutes=rng.randrange(1, 60 * 48)) if finished else None
        user = rng.choice(users)
        data.kernels.append(
            (
                kernel_id,
                ids(),
                f"session-{n + 1:06d}",
                _weighted(rng, SESSION_TYPES),
                "MULTI_NODE" if multi_node else "SINGLE_NODE",
                cluster_size,
                role,
                cluster_idx,
                cluster_idx % 2,
                f"{role}{cluster_idx if role == 'sub' else 1}",
                agent_ids[index] if index is not None else None,
                rng.choice(SCALING_GROUPS),
                rng.choice(DOMAINS),
                rng.choice(groups),
                user,
                f"AKIA{user.hex[:16].upper()}",
                rng.choice(IMAGES),
                ids().hex if index is not None and status in HOLDING else None,
                status,
                "SUCCESS"
                if status == "TERMINATED"
                else "FAILURE"
                if status == "CANCELLED"
                else "UNDEFINED",
                created,
                terminated,
                created + dt.timedelta(seconds=rng.randrange(0, 30)) if scheduled else None,
                rng.choice((None, "python3 train.py", "jupyter lab")),
            )
        )
        requested = {
            "cpu": _amount(rng.choice((1, 2, 4, 8))),
            "mem": _amount(rng.choice((2, 4, 8, 16)) * GIB),
        }
        if index is not None:
            for slot_name in agent_slots[index]:
                if slot_name not in requested:
                    capacity = agent_slots[index][slot_name]
                    share = rng.choice((0.25, 0.5, 1)) if slot_name == "cuda.shares" else 1
                    requested[slot_name] = min(_amount(share), capacity)
        for slot_name, amount in requested.items():
            measured = status in MEASURED and rng.random() < 0.9
            value = _amount(float(amount) * rng.uniform(0.05, 1.0)) if measured else None
            if value is not None and slot_name == "mem":
                value = value.quantize(Decimal(1))  # bytes are whole
            data.allocations.append(
                (
                    kernel_id,
                    slot_name,
                    amount,
                    value,
                    created + dt.timedelta(minutes=5) if measured else None,
                    terminated,
                )
            )
            # The scheduler packs within capacity.
            if (
                index is not None
                and status in HOLDING
                and slot_name in used[index]
                and used[index][slot_name] + amount <= agent_slots[index][slot_name]
            ):
                used[index][slot_name] += amount

    # A few agents lost capacity after their kernels were placed (a device failed), so they
    # use more than they have: the API must show that rather than hide it.
    for slots, taken in zip(agent_slots, used, strict=True):
        busy = [name for name in slots if taken[name] > 0]
        if busy and rng.random() < 0.05:
            name = rng.choice(busy)
            slots[name] = (taken[name] * Decimal("0.75")).quantize(
                Decimal(1) if name == "mem" else Decimal("0.01")
            )

    for agent_id, slots, taken in zip(agent_ids, agent_slots, used, strict=True):
        for slot_name, capacity in slots.items():
            data.agent_resources.append((agent_id, slot_name, capacity, taken[slot_name]))
    return data


def _chunks(rows: list[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def load(database_url: str, data: DemoData, *, replace: bool) -> None:
    """Insert the data set in one transaction; with `replace`, the old agents and kernels
    (and their per-slot rows) go first. The slot-type registry is never touched."""
    async with connected(database_url) as connection:
        # COPY is binary; jsonb's binary form is a version byte and the JSON text.
        await connection.set_type_codec(
            "jsonb",
            encoder=lambda value: b"\x01" + json.dumps(value).encode(),
            decoder=lambda data: json.loads(data[1:]),
            schema="pg_catalog",
            format="binary",
        )
        async with connection.transaction():
            if replace:
                await connection.execute(
                    "TRUNCATE resource_allocations, agent_resources, kernels, agents"
                )
            for table, columns, rows in (
                ("agents", AGENT_COLUMNS, data.agents),
                ("agent_resources", AGENT_RESOURCE_COLUMNS, data.agent_resources),
                ("kernels", KERNEL_COLUMNS, data.kernels),
                ("resource_allocations", ALLOCATION_COLUMNS, data.allocations),
            ):
                for chunk in _chunks(rows):
                    await connection.copy_records_to_table(table, records=chunk, columns=columns)
            await connection.execute(
                "ANALYZE agents, agent_resources, kernels, resource_allocations"
            )


async def has_agents(database_url: str) -> bool:
    async with connected(database_url) as connection:
        return bool(await connection.fetchval("SELECT EXISTS (SELECT 1 FROM agents)"))
