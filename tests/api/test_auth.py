"""Authentication: every way a request can fail to authenticate, revocation, the demo key,
the key commands, and that no secret is ever stored or logged."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from app import apikeys
from app.auth import Authenticator, StoredKey, hash_secret
from app.db import connected
from app.errors import Unauthorized
from app.main import create_app
from app.settings import PROJECT_ROOT, Settings, SettingsError
from tests.conftest import StatementLog, issue_key

UNAUTHORIZED = "api_generic_unauthorized"
USER = uuid.UUID("a0700000-0000-4000-8000-000000000001")
QUERY = {"query": "{ __typename }"}

MISSING = (
    "Authentication required: send `Authorization: Bearer <API key>` "
    "(create a key with `python -m app keys create`)."
)
MALFORMED = (
    "The Authorization header must be `Bearer <API key>`, with a key as printed by "
    "`python -m app keys create` (sg_…)."
)
REJECTED = "The API key is not valid: it is unknown, revoked, or its secret is wrong."


def _refusal(response: httpx.Response, message: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="slotgraph"'
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": UNAUTHORIZED}}]
    }


def _wrong_secret(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.fixture(scope="module")
def token(database_url: str) -> str:
    return issue_key(database_url, "user", USER, "default")


async def test_no_header(anonymous: httpx.AsyncClient) -> None:
    _refusal(await anonymous.post("/graphql", json=QUERY), MISSING)
    _refusal(await anonymous.get("/graphql", params=QUERY), MISSING)
    _refusal(await anonymous.post("/graphql", json=QUERY, headers={"Authorization": " "}), MISSING)


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer sg_",
        "Bearer sg_0123456789abcdef",
        "Bearer sg_0123456789ABCDEF_" + "a" * 43,  # key ids are lower-case hex
        "Bearer sg_0123456789abcdef_" + "a" * 42,  # one character short
        "Bearer sg_0123456789abcdef_" + "a" * 44,
        "Bearer xx_0123456789abcdef_" + "a" * 43,
        "Bearer sg_0123456789abcdef_" + "a" * 42 + "!",
        "Token sg_0123456789abcdef_" + "a" * 43,
    ],
)
async def test_malformed_header(anonymous: httpx.AsyncClient, header: str) -> None:
    _refusal(
        await anonymous.post("/graphql", json=QUERY, headers={"Authorization": header}), MALFORMED
    )


async def test_unknown_key_and_wrong_secret_look_the_same(
    anonymous: httpx.AsyncClient, token: str, sql: StatementLog
) -> None:
    """Same answer and the same work (one lookup, one hash, one comparison) for a key id that
    does not exist and for a real key id with a wrong secret."""
    unknown = "sg_" + "f" * 16 + token[19:]
    for bad in (unknown, _wrong_secret(token)):
        sql.reset()
        response = await anonymous.post(
            "/graphql", json=QUERY, headers={"Authorization": f"Bearer {bad}"}
        )
        _refusal(response, REJECTED)
        assert sql.count == 1
    # The scheme is case-insensitive (RFC 7235); the real key works.
    response = await anonymous.post(
        "/graphql", json=QUERY, headers={"Authorization": f"bearer {token}"}
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_verifier_takes_the_same_path_for_unknown_and_wrong() -> None:
    """Unit level: the unknown-key path hashes and compares like the wrong-secret path."""
    key_id, secret = "0123456789abcdef", "s" * 43
    stored = StoredKey(key_id, hash_secret(key_id, "t" * 43), USER, "default", "user", False)
    calls: list[str] = []

    async def found(requested: str) -> StoredKey:
        calls.append(requested)
        return stored

    async def missing(requested: str) -> None:
        calls.append(requested)

    authenticator = Authenticator(cache_seconds=60)
    for lookup in (found, missing):
        with pytest.raises(Unauthorized) as raised:
            await authenticator.authenticate(f"Bearer sg_{key_id}_{secret}", lookup)
        assert str(raised.value) == REJECTED
    assert calls == [key_id, key_id]
    # Failures are not cached: a third attempt asks again.
    with pytest.raises(Unauthorized):
        await authenticator.authenticate(f"Bearer sg_{key_id}_{secret}", missing)
    assert len(calls) == 3


@pytest.fixture
async def uncached(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app that never caches a verified key, so revocation is seen at once."""
    application = create_app(replace(settings, auth_cache_seconds=0))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_revoked_key(uncached: httpx.AsyncClient, database_url: str) -> None:
    issued = await apikeys.create_key(
        database_url, role="admin", user_uuid=USER, domain="default", description="to revoke"
    )
    headers = {"Authorization": f"Bearer {issued.token}"}
    response = await uncached.post("/graphql", json=QUERY, headers=headers)
    assert response.json() == {"data": {"__typename": "Query"}}
    await apikeys.revoke_key(database_url, issued.key_id)
    _refusal(await uncached.post("/graphql", json=QUERY, headers=headers), REJECTED)
    # Revoking again is harmless; an unknown id is an error that says where to look.
    await apikeys.revoke_key(database_url, issued.key_id)
    with pytest.raises(apikeys.KeyRequestError, match="keys list"):
        await apikeys.revoke_key(database_url, "0" * 16)


async def test_cached_key_is_dropped_after_its_time(settings: Settings, database_url: str) -> None:
    """Within auth_cache_seconds a revoked key may still pass; after it, it does not."""
    issued = await apikeys.create_key(database_url, role="user", user_uuid=USER, domain="d")
    header = f"Bearer {issued.token}"
    lookups = 0

    async def lookup(key_id: str) -> StoredKey | None:
        nonlocal lookups
        lookups += 1
        async with connected(database_url) as connection:
            row = await connection.fetchrow(
                "SELECT secret_hash, revoked_at FROM api_keys WHERE key_id = $1", key_id
            )
        assert row is not None
        return StoredKey(
            key_id, row["secret_hash"], USER, "d", "user", row["revoked_at"] is not None
        )

    authenticator = Authenticator(cache_seconds=1)
    await authenticator.authenticate(header, lookup)
    await apikeys.revoke_key(database_url, issued.key_id)
    await authenticator.authenticate(header, lookup)  # cached
    assert lookups == 1
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthorized, match="not valid"):
        await authenticator.authenticate(header, lookup)
    assert lookups == 2


async def test_keys_reject_bad_requests(database_url: str) -> None:
    for kwargs, message in (
        ({"role": "root", "domain": "d"}, "role must be one of superadmin, admin, user"),
        ({"role": "user", "domain": ""}, "domain must be 1 to 64 characters"),
        ({"role": "user", "domain": "d" * 65}, "domain must be 1 to 64 characters"),
    ):
        with pytest.raises(apikeys.KeyRequestError, match=message):
            await apikeys.create_key(database_url, user_uuid=USER, **kwargs)


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app", "keys", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )


async def test_key_commands(database_url: str, anonymous: httpx.AsyncClient) -> None:
    created = _cli(
        database_url,
        "create",
        "--role",
        "admin",
        "--user",
        str(USER),
        "--domain",
        "cli-d",
        "--description",
        "made by the CLI test",
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("sg_")
    assert len(token) == 3 + 16 + 1 + 43
    key_id = token[3:19]
    assert "shown only now" in created.stderr
    assert key_id in created.stderr
    response = await anonymous.post(
        "/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200

    listed = _cli(database_url, "list")
    assert listed.returncode == 0
    [line] = [line for line in listed.stdout.splitlines() if line.startswith(key_id)]
    assert "admin" in line
    assert "cli-d" in line
    assert "made by the CLI test" in line
    assert token[20:] not in listed.stdout  # never the secret

    revoked = _cli(database_url, "revoke", key_id)
    assert revoked.returncode == 0
    assert "is revoked" in revoked.stdout
    assert key_id not in _cli(database_url, "list").stdout
    assert key_id in _cli(database_url, "list", "--all").stdout

    bad_user = _cli(database_url, "create", "--role", "user", "--user", "nope", "--domain", "d")
    assert bad_user.returncode == 2
    assert "must be a UUID, got 'nope'" in bad_user.stderr
    missing = _cli(database_url, "revoke", "0" * 16)
    assert missing.returncode == 1
    assert "there is no API key" in missing.stderr


async def test_no_secret_is_stored_or_logged(
    database_url: str,
    anonymous: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    issued = await apikeys.create_key(database_url, role="user", user_uuid=USER, domain="d")
    secret = issued.token[20:]
    good = {"Authorization": f"Bearer {issued.token}"}
    bad = {"Authorization": f"Bearer {_wrong_secret(issued.token)}"}
    await anonymous.post("/graphql", json=QUERY, headers=good)
    await anonymous.post("/graphql", json={"query": "{ nope }"}, headers=good)
    for _ in range(2):
        response = await anonymous.post("/graphql", json=QUERY, headers=bad)
        assert secret[:-1] not in response.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "request_id=" in logged  # the requests were logged
    assert secret[:-1] not in logged
    assert issued.token[:-1] not in logged

    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch("SELECT row_to_json(k)::text AS row FROM api_keys k")
    finally:
        await connection.close()
    dump = "\n".join(row["row"] for row in rows)
    assert issued.key_id in dump
    assert issued.secret_hash in dump
    assert secret not in dump
    assert secret[:-1] not in dump


async def test_demo_key_is_created_once_and_replaced_when_revoked(
    database_url: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "demo-api-key"
    token, created = await apikeys.demo_key(database_url, key_file)
    assert created
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert await apikeys.demo_key(database_url, key_file) == (token, False)
    await apikeys.revoke_key(database_url, token[3:19])
    replacement, created = await apikeys.demo_key(database_url, key_file)
    assert created
    assert replacement != token
    key_file.write_text("garbage\n")
    _, created = await apikeys.demo_key(database_url, key_file)
    assert created


async def test_playground_sends_the_demo_key_only_in_demo_mode(
    settings: Settings, app: Starlette
) -> None:
    html = {"Accept": "text/html"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = (await http.get("/graphql", headers=html)).text
    assert "Bearer" not in page

    token = "sg_" + "a" * 16 + "_" + "b" * 43
    demo = create_app(replace(settings, playground_token=token))
    async with demo.router.lifespan_context(demo):
        transport = httpx.ASGITransport(app=demo)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = (await http.get("/graphql", headers=html)).text
    assert f"Bearer {token}" in page

    with pytest.raises(SettingsError, match="local demo only"):
        replace(settings, environment="production", playground_token=token).check()
