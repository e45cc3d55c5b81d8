"""Records are plain slotted dataclasses at run time (fast to build) that keep what a frozen
one gives readers: equality and hashing by value, no per-instance dict."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from uuid import UUID

from app.records import AgentResourceSlot, KernelResourceAllocation, NumberFormat


def test_records_compare_and_hash_by_value() -> None:
    one = AgentResourceSlot("i-1", "cpu", Decimal(4), Decimal(1))
    same = AgentResourceSlot("i-1", "cpu", Decimal(4), Decimal(1))
    other = AgentResourceSlot("i-1", "mem", Decimal(4), Decimal(1))
    assert one == same
    assert one != other
    assert hash(one) == hash(same)
    assert len({one, same, other}) == 2
    assert one.free == Decimal(3)


def test_records_are_slotted_dataclasses() -> None:
    allocation = KernelResourceAllocation(UUID(int=1), "cpu", Decimal(1), None)
    assert dataclasses.is_dataclass(allocation)
    assert not hasattr(allocation, "__dict__")
    assert dataclasses.astuple(NumberFormat(binary=True, round_length=2)) == (True, 2)
