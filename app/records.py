"""Frozen records the repositories return; resolvers read them, nothing mutates them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NumberFormat:
    binary: bool
    round_length: int


@dataclass(frozen=True, slots=True)
class ResourceSlotType:
    slot_name: str
    slot_type: str
    display_name: str
    description: str
    display_unit: str
    display_icon: str
    number_format: NumberFormat
    rank: int
