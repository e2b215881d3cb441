"""PostgreSQL advisory locks, so two runs of one job never overlap (a scheduled job and the same
job started by staff share one lock name).

A session-level lock belongs to the database connection: when a process is killed its
connection closes and PostgreSQL releases the lock, so a dead run never blocks the next one.
SQLite (the test suite, a laptop) has no such lock and runs one process: the lock always succeeds.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

from django.db import connection


def advisory_lock_key(*, name: str) -> int:
    """A stable 32-bit key for `name` (crc32 is the same in every process, unlike hash())."""
    return zlib.crc32(f"loyalty-backoffice:{name}".encode())


@contextlib.contextmanager
def advisory_lock_try(*, name: str) -> Iterator[bool]:
    """Yield True while holding the lock named `name`, False when another session holds it."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = advisory_lock_key(name=name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired and connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def advisory_lock_in_transaction(*, name: str) -> None:
    """Wait for the lock named `name` and hold it until the caller's transaction ends: the
    check-then-insert of two requests at once runs one after the other. SQLite serializes
    writers by itself."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_lock_key(name=name)])
