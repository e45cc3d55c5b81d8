"""Records the repositories return; resolvers read them, nothing mutates them.

They are immutable to the type checker (`frozen=True` as mypy sees them) but built as plain
slotted dataclasses: a frozen dataclass sets each field through `object.__setattr__`, and a
24-field kernel took 2.6 µs to build instead of 0.3 µs - a fifth of the Python time of a page
of 100 kernels with their allocations. They stay hashable and comparable by value
(`unsafe_hash`, the hash a frozen dataclass has), and `make check` (mypy, strict) refuses
any assignment to a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast, dataclass_transform
from uuid import UUID

C = TypeVar("C", bound=type)
_ZERO = Decimal(0)


@dataclass_transform(frozen_default=True)
def record(cls: C) -> C:
    """A record class: frozen to the type checker, a plain slotted dataclass at run time."""
    return cast(C, dataclass(slots=True, unsafe_hash=True)(cls))


_NOT_LOADED_MESSAGE = "a record field was read whose column the page did not select"


class NotLoaded:
    """The value of a record field whose column a page did not select, because no field
    the query selects reads it (see `ConnectionSpec.field_columns`). It is nothing a
    resolver could mistake for data: no serializer takes it, and testing it raises."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not loaded>"

    def __str__(self) -> str:  # serializers turn unknown objects into text with it
        raise RuntimeError(_NOT_LOADED_MESSAGE)

    def __bool__(self) -> bool:
        raise RuntimeError(_NOT_LOADED_MESSAGE)


NOT_LOADED: Any = NotLoaded()


@record
class NumberFormat:
    binary: bool
    round_length: int


@record
class ResourceSlotType:
    slot_name: str
    slot_type: str
    display_name: str
    description: str
    display_unit: str
    display_icon: str
    number_format: NumberFormat
    rank: int


@record
class Agent:
    id: str
    status: str
    status_changed: datetime | None
    first_contact: datetime | None
    lost_at: datetime | None
    region: str
    scaling_group: str
    schedulable: bool
    addr: str
    architecture: str
    version: str
    compute_plugins: dict[str, Any]
    # Selected with an agents page when the query asks for containerCount; otherwise None
    # and counted by a loader.
    container_count: int | None = None


def free_amount(capacity: Decimal, used: Decimal) -> Decimal:
    """What is free of a slot: `used` may exceed a capacity that shrank; nothing is free
    then. (`max(capacity - used, 0)`, to its exponent, with a comparison first: `max` of a
    new difference cost twice as much, on every slot of a page.)"""
    return capacity - used if capacity >= used else _ZERO


@record
class AgentResourceSlot:
    agent_id: str
    slot_name: str
    capacity: Decimal
    used: Decimal

    @property
    def free(self) -> Decimal:
        return free_amount(self.capacity, self.used)


@record
class Kernel:
    id: UUID
    session_id: UUID
    session_name: str | None
    session_type: str
    cluster_mode: str
    cluster_size: int
    cluster_role: str
    cluster_idx: int
    local_rank: int
    cluster_hostname: str
    agent: str | None
    scaling_group: str | None
    domain_name: str
    group_id: UUID
    user_uuid: UUID
    access_key: str | None
    image: str | None
    container_id: str | None
    status: str
    result: str
    created_at: datetime | None
    terminated_at: datetime | None
    starts_at: datetime | None
    startup_command: str | None


@record
class KernelResourceAllocation:
    kernel_id: UUID
    slot_name: str
    requested: Decimal
    used: Decimal | None
