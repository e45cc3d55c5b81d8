"""The api_keys table: issue, list, revoke, and the lookup the verifier uses.

Only a key's id and the SHA-256 of its secret are stored; `create_key` returns the token
once and nothing can show it again.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from app.auth import ROLES, IssuedKey, StoredKey, hash_secret, new_key, parse_authorization
from app.db import RequestSession, connected
from app.errors import AppError
from app.tables import api_keys as t

MAX_DOMAIN = 64
MAX_DESCRIPTION = 256


class KeyRequestError(ValueError):
    """A key cannot be created or revoked as asked; the message says what to change."""


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    user_uuid: UUID
    domain: str
    role: str
    description: str
    created_at: datetime
    revoked_at: datetime | None


# Always exactly one row (all NULL for an unknown key id), so a known and an unknown key id
# cost the server and the driver the same work.
_ONE_ROW = sa.select(sa.literal_column("1").label("one")).subquery("one")


async def lookup(session: RequestSession, key_id: str) -> StoredKey | None:
    statement = sa.select(
        t.c.key_id,
        t.c.secret_hash,
        t.c.user_uuid,
        t.c.domain_name,
        t.c.role,
        t.c.revoked_at,
    ).select_from(_ONE_ROW.outerjoin(t, t.c.key_id == key_id))
    [row] = await session.fetch_all(statement)
    if row["key_id"] is None:
        return None
    return StoredKey(
        key_id=row["key_id"],
        secret_hash=row["secret_hash"],
        user_uuid=row["user_uuid"],
        domain=row["domain_name"],
        role=row["role"],
        revoked=row["revoked_at"] is not None,
    )


def _check(role: str, domain: str, description: str) -> None:
    if role not in ROLES:
        raise KeyRequestError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not domain.strip() or len(domain) > MAX_DOMAIN or "\x00" in domain:
        raise KeyRequestError(f"domain must be 1 to {MAX_DOMAIN} characters, got {domain!r}")
    if len(description) > MAX_DESCRIPTION or "\x00" in description:
        raise KeyRequestError(f"description must be at most {MAX_DESCRIPTION} characters")


async def create_key(
    database_url: str,
    *,
    role: str,
    user_uuid: UUID,
    domain: str,
    description: str = "",
) -> IssuedKey:
    """A new key; its token is in the result and nowhere else."""
    _check(role, domain, description)
    issued = new_key()
    async with connected(database_url) as connection:
        await connection.execute(
            "INSERT INTO api_keys (key_id, secret_hash, user_uuid, domain_name, role, description)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            issued.key_id,
            issued.secret_hash,
            user_uuid,
            domain,
            role,
            description,
        )
    return issued


async def list_keys(database_url: str, *, include_revoked: bool = False) -> list[KeyInfo]:
    async with connected(database_url) as connection:
        rows = await connection.fetch(
            "SELECT key_id, user_uuid, domain_name, role, description, created_at, revoked_at"
            " FROM api_keys WHERE $1 OR revoked_at IS NULL ORDER BY created_at, key_id",
            include_revoked,
        )
    return [
        KeyInfo(
            key_id=row["key_id"],
            user_uuid=row["user_uuid"],
            domain=row["domain_name"],
            role=row["role"],
            description=row["description"],
            created_at=row["created_at"],
            revoked_at=row["revoked_at"],
        )
        for row in rows
    ]


async def revoke_key(database_url: str, key_id: str) -> datetime:
    """Revoke a key (idempotent); when it was revoked, or KeyRequestError if there is no such key."""
    async with connected(database_url) as connection:
        revoked: datetime | None = await connection.fetchval(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
            " WHERE key_id = $1 RETURNING revoked_at",
            key_id,
        )
    if revoked is None:
        raise KeyRequestError(
            f"there is no API key {key_id!r}; `python -m app keys list` shows them"
        )
    return revoked


DEMO_DESCRIPTION = "local demo superadmin (make run)"
DEMO_USER = UUID("00000000-0000-4000-8000-000000000001")
DEMO_DOMAIN = "default"


async def _still_valid(database_url: str, token: str) -> bool:
    """Whether a saved demo token is a live superadmin key of this database."""
    try:
        key_id, secret = parse_authorization(f"Bearer {token}")
    except AppError:
        return False
    async with connected(database_url) as connection:
        row = await connection.fetchrow(
            "SELECT secret_hash FROM api_keys"
            " WHERE key_id = $1 AND revoked_at IS NULL AND role = 'superadmin'",
            key_id,
        )
    return row is not None and hmac.compare_digest(hash_secret(key_id, secret), row["secret_hash"])


async def demo_key(database_url: str, key_file: Path) -> tuple[str, bool]:
    """The local demo's superadmin token, and whether it was created now.

    The token is kept in `key_file` (in the git-ignored data directory, mode 0600) so that the
    playground keeps working across restarts; the database still holds only its hash. A key
    that was revoked, or a file from another database, is replaced."""
    saved = _read(key_file)
    if saved is not None and await _still_valid(database_url, saved):
        return saved, False
    issued = await create_key(
        database_url,
        role="superadmin",
        user_uuid=DEMO_USER,
        domain=DEMO_DOMAIN,
        description=DEMO_DESCRIPTION,
    )
    _write(key_file, issued.token)
    return issued.token, True


def _read(key_file: Path) -> str | None:
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        return None


def _write(key_file: Path, token: str) -> None:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.unlink(missing_ok=True)  # a file made by someone else keeps its own mode
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
