"""Orderings and filters built from the same connection arguments are shared by requests;
any difference in the arguments builds its own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.errors import InvalidParameters
from app.repositories import kernels, resource_allocations
from app.resolvers.connection import _filter, _ordering

RUNNING = {"status": {"in": ["RUNNING"]}}


def test_the_same_filter_is_built_once() -> None:
    first = _filter(kernels.CONNECTION, RUNNING)
    assert first is not None
    assert _filter(kernels.CONNECTION, {"status": {"in": ["RUNNING"]}}) is first
    other = _filter(kernels.CONNECTION, {"status": {"in": ["TERMINATED"]}})
    assert other is not None
    assert other is not first
    assert str(other.compile(compile_kwargs={"literal_binds": True})) != str(
        first.compile(compile_kwargs={"literal_binds": True})
    )


def test_amounts_that_differ_in_writing_do_not_share_a_filter() -> None:
    one = _filter(resource_allocations.CONNECTION, {"used": {"equals": Decimal("1.5")}})
    two = _filter(resource_allocations.CONNECTION, {"used": {"equals": Decimal("2.5")}})
    assert one is not two


def test_orderings_are_shared_and_keep_their_terms() -> None:
    by_created = [{"field": "CREATED_AT", "direction": "ASC"}]
    ordering = _ordering(kernels.CONNECTION, by_created)
    assert _ordering(kernels.CONNECTION, list(by_created)) is ordering
    assert ordering.signature == "KernelV2[CREATED_AT:ASC,ID:ASC]"
    assert _ordering(kernels.CONNECTION, None).signature == "KernelV2[CREATED_AT:DESC,ID:DESC]"


def test_a_filter_that_does_not_build_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(InvalidParameters, match="empty list"):
            _filter(kernels.CONNECTION, {"and": []})
