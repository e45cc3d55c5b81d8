"""Who is calling: bearer API keys, verified in constant time, and what each role may see.

A token is `sg_<key id>_<secret>`: the key id (16 hex digits) finds the row, the secret (256
random bits, base64url) is checked against the SHA-256 stored there. An unknown key id, a
revoked key and a wrong secret take the same path (one lookup, one hash, one constant-time
comparison) and get the same answer, so timing tells a caller nothing about which it was.

Verified keys are remembered for `auth_cache_seconds` (a revoked key stops working within
that time on every worker); failures are never cached, so the cache cannot be filled by
guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement

from app.errors import Forbidden, Unauthorized
from app.tables import kernels

Role = Literal["superadmin", "admin", "user"]
ROLES: tuple[Role, ...] = ("superadmin", "admin", "user")

TOKEN_PREFIX = "sg_"  # noqa: S105 (a prefix, not a secret)
_TOKEN = re.compile(r"sg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
# Compared against when the key id is unknown, so that path hashes and compares too.
_NO_HASH = "0" * 64


# Kernel scopes by domain (admins) or user (users); immutable, so shared. Bounded: cleared
# when full.
_KERNEL_SCOPES: dict[tuple[str, object], ColumnElement[bool]] = {}
_KERNEL_SCOPES_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Caller:
    key_id: str
    user_uuid: UUID
    domain: str
    role: Role

    @property
    def sees_agents(self) -> bool:
        """Agents and their resource slots are for superadmins only."""
        return self.role == "superadmin"

    @property
    def lists_kernels(self) -> bool:
        """adminKernelsV2 is for superadmins (every kernel) and admins (their domain)."""
        return self.role in ("superadmin", "admin")

    def require(self, allowed: bool, field: str, who: str) -> None:
        if not allowed:
            raise Forbidden(f"`{field}` is for {who}; this API key's role is {self.role!r}.")

    def kernel_scope(self) -> ColumnElement[bool] | None:
        """The kernels this caller may see, as a predicate every kernel statement carries
        (None: all of them). Allocations are seen through their kernel. One expression per
        domain or user, shared by their requests: building it took ~15 us, and a new one
        also had its SQLAlchemy cache key computed again when its statement ran."""
        if self.role == "superadmin":
            return None
        key = ("domain", self.domain) if self.role == "admin" else ("user", self.user_uuid)
        scope = _KERNEL_SCOPES.get(key)
        if scope is None:
            if len(_KERNEL_SCOPES) >= _KERNEL_SCOPES_SIZE:
                _KERNEL_SCOPES.clear()
            scope = _KERNEL_SCOPES[key] = (
                kernels.c.domain_name == self.domain
                if self.role == "admin"
                else kernels.c.user_uuid == self.user_uuid
            )
        return scope

    def agent_scope(self) -> ColumnElement[bool] | None:
        """The agents this caller may see: all or none, by role."""
        return None if self.sees_agents else sa.false()


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An api_keys row, as the verifier needs it."""

    key_id: str
    secret_hash: str
    user_uuid: UUID
    domain: str
    role: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key_id: str
    token: str  # shown once; only secret_hash is stored
    secret_hash: str


def hash_secret(key_id: str, secret: str) -> str:
    # The key id is mixed in so that equal secrets (never expected) still hash differently.
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def new_key() -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id, f"{TOKEN_PREFIX}{key_id}_{secret}", hash_secret(key_id, secret))


MISSING = (
    "Authentication required: send `Authorization: Bearer <API key>` "
    "(create a key with `python -m app keys create`)."
)
MALFORMED = (
    "The Authorization header must be `Bearer <API key>`, with a key as printed by "
    "`python -m app keys create` (sg_…)."
)
REJECTED = "The API key is not valid: it is unknown, revoked, or its secret is wrong."


def parse_authorization(header: str | None) -> tuple[str, str]:
    """The (key id, secret) in an Authorization header, or Unauthorized saying what to fix."""
    if header is None or not header.strip():
        raise Unauthorized(MISSING)
    scheme, _, token = header.strip().partition(" ")
    match = _TOKEN.fullmatch(token.strip())
    if scheme.lower() != "bearer" or match is None:
        raise Unauthorized(MALFORMED)
    return match.group(1), match.group(2)


Lookup = Callable[[str], Awaitable[StoredKey | None]]


class Authenticator:
    """Tokens to callers, with a small bounded cache of verified keys."""

    def __init__(self, cache_seconds: float, cache_size: int = 4096) -> None:
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Caller, float]] = OrderedDict()

    def cached(self, header: str | None) -> Caller | None:
        """The caller of a key verified within `cache_seconds`, without a coroutine; None
        when `authenticate` must decide (it also says what is wrong with a header)."""
        if not header:
            return None
        try:
            key_id, secret = parse_authorization(header)
        except Unauthorized:
            return None
        return self._hit(hash_secret(key_id, secret), time.monotonic())

    def _hit(self, digest: str, now: float) -> Caller | None:
        """The cached caller of a key's digest, unless missing or expired (then dropped)."""
        cached = self._cache.get(digest)
        if cached is None:
            return None
        caller, expires = cached
        if now < expires:
            return caller
        del self._cache[digest]
        return None

    async def authenticate(self, header: str | None, lookup: Lookup) -> Caller:
        key_id, secret = parse_authorization(header)
        # Keyed by the hash, so the cache holds no secret either.
        digest = hash_secret(key_id, secret)
        now = time.monotonic()
        hit = self._hit(digest, now)
        if hit is not None:
            return hit
        stored = await lookup(key_id)
        expected = stored.secret_hash if stored is not None else _NO_HASH
        matches = hmac.compare_digest(digest, expected)
        if stored is None or stored.revoked or not matches:
            raise Unauthorized(REJECTED)
        caller = Caller(key_id, stored.user_uuid, stored.domain, cast(Role, stored.role))
        if self.cache_seconds > 0:
            self._cache[digest] = (caller, now + self.cache_seconds)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return caller

    def forget(self) -> None:
        self._cache.clear()
