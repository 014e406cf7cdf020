"""The read API's connections: the read-only ``transcrawl_reader`` role, with a statement timeout.

Every connection of the pool switches to the reader role (migration 0002 grants it SELECT on the
contract's tables and nothing else) and to read-only transactions, so a bug here cannot write and
cannot read what the contract does not list. The login role must be a member of
``transcrawl_reader`` (``GRANT transcrawl_reader TO api_login``); the owner role of the demo is.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

READER_ROLE = "transcrawl_reader"


def reader_pool(database_url: str, *, statement_timeout_ms: int, max_size: int = 8) -> AsyncConnectionPool:
    """A pool (not opened) of reader connections for one serve process."""

    async def configure(conn: AsyncConnection[Any]) -> None:
        await conn.set_autocommit(True)
        await conn.execute(f"SET ROLE {READER_ROLE}")
        await conn.execute("SET default_transaction_read_only = on")
        # A constant the settings validated as an int: not client input.
        await conn.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        await conn.execute("SET application_name = 'transcrawl-serve'")

    return AsyncConnectionPool(database_url, min_size=1, max_size=max_size, configure=configure,
                               open=False, timeout=5.0, check=AsyncConnectionPool.check_connection)
