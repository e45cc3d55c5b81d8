"""Orderings and filters built from the same connection arguments are shared by requests;
any difference in the arguments builds its own."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from app.auth import Caller
from app.errors import InvalidParameters
from app.pagination import memoized_for
from app.repositories import kernels, resource_allocations
from app.repositories.base import _both
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


def _sql(expression: Any) -> str:
    return str(expression.compile(compile_kwargs={"literal_binds": True}))


def test_kernel_scopes_are_shared_per_domain_and_per_user() -> None:
    user_a, user_b = uuid.UUID(int=1), uuid.UUID(int=2)
    admin = Caller("k1", user_a, "default", "admin")
    scope = admin.kernel_scope()
    assert scope is not None
    assert Caller("k2", user_b, "default", "admin").kernel_scope() is scope
    assert _sql(scope) == "kernels.domain_name = 'default'"
    other_domain = Caller("k3", user_a, "other", "admin").kernel_scope()
    assert other_domain is not None
    assert _sql(other_domain) == "kernels.domain_name = 'other'"
    user = Caller("k4", user_a, "default", "user").kernel_scope()
    assert user is not None
    assert Caller("k5", user_a, "other", "user").kernel_scope() is user
    assert _sql(user) == f"kernels.user_uuid = '{user_a.hex}'"
    assert Caller("k6", user_b, "default", "user").kernel_scope() is not user
    assert Caller("k7", user_a, "default", "superadmin").kernel_scope() is None


def test_a_scope_and_a_filter_are_combined_once() -> None:
    scope = Caller("k1", uuid.UUID(int=1), "default", "admin").kernel_scope()
    running = _filter(kernels.CONNECTION, RUNNING)
    assert scope is not None
    assert running is not None
    combined = _both(scope, running)
    assert _both(scope, running) is combined
    assert _sql(combined) == f"{_sql(scope)} AND {_sql(running)}"
    terminated = _filter(kernels.CONNECTION, {"status": {"in": ["TERMINATED"]}})
    assert terminated is not None
    assert _both(scope, terminated) is not combined


def test_identity_memos_keep_their_objects_and_tell_equal_ones_apart() -> None:
    memo: dict[tuple[int, ...], tuple[tuple[Any, ...], Any]] = {}
    first, twin = [1], [1]
    built: list[Any] = []

    def build(value: Any) -> Any:
        built.append(value)
        return object()

    one = memoized_for(memo, (first,), lambda: build(first))
    assert memoized_for(memo, (first,), lambda: build(first)) is one
    # Equal but not the same object: a value of its own.
    assert memoized_for(memo, (twin,), lambda: build(twin)) is not one
    assert built == [first, twin]
    # Bounded: cleared when full.
    for _ in range(5):
        memoized_for(memo, (object(),), object, size=3)
    assert len(memo) <= 3
