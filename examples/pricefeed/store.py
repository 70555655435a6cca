"""Instruments and accounts: in memory, or in PostgreSQL (``app.pg``).

How this works
--------------
Both stores offer the same coroutines: ``list_instruments(limit, offset)``,
``delete_instrument(id)``, ``account(username)``. ``MemoryStore`` holds the
seed data in dicts. ``PostgresStore`` creates its two tables at boot, inside
one transaction holding an advisory lock (several workers boot at once), and
seeds them when empty. Passwords are kept as scrypt hashes with a salt each.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from typing import Any

INSTRUMENTS = [
    ("BTC-USD", "Bitcoin / US dollar", 43250.0),
    ("ETH-USD", "Ether / US dollar", 2280.0),
    ("SOL-USD", "Solana / US dollar", 98.0),
    ("EUR-USD", "Euro / US dollar", 1.0875),
    ("GBP-USD", "Pound sterling / US dollar", 1.2710),
    ("USD-JPY", "US dollar / Japanese yen", 144.20),
    ("AAPL", "Apple Inc.", 193.60),
    ("MSFT", "Microsoft Corp.", 374.50),
]

ACCOUNTS = [("demo", "demo", "user"), ("admin", "admin", "admin")]

_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
_LOCK_ID = 0x70726963     # the advisory lock of the schema's creation


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


async def password_matches(account: dict | None, password: str) -> bool:
    """Whether ``password`` is the account's, compared in constant time; the hash
    (about 50 ms of scrypt) runs in a thread, so the event loop serves on."""
    if account is None:
        # The same work for an unknown name: its answer takes as long.
        await asyncio.to_thread(hash_password, password, b"\0" * 16)
        return False
    given = await asyncio.to_thread(hash_password, password, account["salt"])
    return hmac.compare_digest(given, account["hash"])


def _account(username: str, password: str, role: str) -> dict:
    salt = os.urandom(16)
    return {"username": username, "salt": salt, "hash": hash_password(password, salt),
            "role": role}


class MemoryStore:
    """The seed data, in this process."""

    def __init__(self) -> None:
        self._instruments = {i: {"id": i, "symbol": s, "name": n, "price": p}
                             for i, (s, n, p) in enumerate(INSTRUMENTS, 1)}
        self._accounts = {name: _account(name, pw, role) for name, pw, role in ACCOUNTS}

    async def list_instruments(self, limit: int, offset: int) -> list[dict]:
        rows = sorted(self._instruments.values(), key=lambda row: row["id"])
        return [dict(row) for row in rows[offset:offset + limit]]

    async def delete_instrument(self, instrument_id: int) -> dict | None:
        return self._instruments.pop(instrument_id, None)

    async def account(self, username: str) -> dict | None:
        return self._accounts.get(username)


class PostgresStore:
    """The same, in the PostgreSQL of ``pool`` (an asyncpg pool)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def create(self) -> None:
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS instruments (id serial PRIMARY KEY, "
                "symbol text UNIQUE NOT NULL, name text NOT NULL, "
                "price double precision NOT NULL)")
            await connection.execute(
                "CREATE TABLE IF NOT EXISTS accounts (username text PRIMARY KEY, "
                "salt bytea NOT NULL, hash bytea NOT NULL, role text NOT NULL)")
            if not await connection.fetchval("SELECT count(*) FROM instruments"):
                await connection.executemany(
                    "INSERT INTO instruments (symbol, name, price) VALUES ($1, $2, $3)",
                    INSTRUMENTS)
            if not await connection.fetchval("SELECT count(*) FROM accounts"):
                await connection.executemany(
                    "INSERT INTO accounts (username, salt, hash, role) VALUES ($1, $2, $3, $4)",
                    [tuple(_account(*row).values()) for row in ACCOUNTS])

    async def list_instruments(self, limit: int, offset: int) -> list[dict]:
        rows = await self._pool.fetch(
            "SELECT id, symbol, name, price FROM instruments ORDER BY id LIMIT $1 OFFSET $2",
            limit, offset)
        return [dict(row) for row in rows]

    async def delete_instrument(self, instrument_id: int) -> dict | None:
        row = await self._pool.fetchrow(
            "DELETE FROM instruments WHERE id = $1 RETURNING id, symbol, name, price",
            instrument_id)
        return dict(row) if row is not None else None

    async def account(self, username: str) -> dict | None:
        row = await self._pool.fetchrow(
            "SELECT username, salt, hash, role FROM accounts WHERE username = $1", username)
        return dict(row) if row is not None else None
