"""Migration operations that keep a live system answering while they run.

A plain `CREATE INDEX` holds a lock that blocks every write to the table until the index is
built: on a table the webhooks write to, deliveries wait (one waited 5 s). On PostgreSQL these
operations build the index CONCURRENTLY, which lets writes go on, with a `lock_timeout` so the
brief lock it still needs never queues behind a long transaction (and everything else behind
it). Elsewhere (SQLite: the tests, a laptop) they are Django's plain AddIndex/RemoveIndex.

A migration using them must say `atomic = False`: PostgreSQL cannot build an index
concurrently inside a transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations

# How long the index build may wait for the lock it needs; on a timeout the migration fails
# and can be run again (a half-built, invalid index is dropped first).
LOCK_TIMEOUT = "5s"


def _is_postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


@contextlib.contextmanager
def _lock_timeout(schema_editor) -> Iterator[None]:
    """A lock_timeout for this operation only (outside a transaction SET lasts for the session:
    it is reset so later migrations keep the default)."""
    schema_editor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        yield
    finally:
        schema_editor.execute("RESET lock_timeout")


def _index_state(schema_editor, name: str) -> bool | None:
    """True: a valid index of that name exists; False: an invalid one (a concurrent build that
    failed half-way); None: none. Never asked while collecting SQL (sqlmigrate)."""
    if schema_editor.collect_sql:
        return None
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND pg_table_is_visible(c.oid)", [name])
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


class AddIndexOnline(AddIndexConcurrently):
    """AddIndex, built concurrently on PostgreSQL; safe to run again after a failure."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return migrations.AddIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state)
        state = _index_state(schema_editor, self.index.name)
        if state is True:
            return None  # built by an earlier, interrupted run of this migration
        with _lock_timeout(schema_editor):
            if state is False:
                schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{self.index.name}"')
            return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return migrations.AddIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state)
        with _lock_timeout(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexOnline(RemoveIndexConcurrently):
    """RemoveIndex, dropped concurrently on PostgreSQL."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return migrations.RemoveIndex.database_forwards(
                self, app_label, schema_editor, from_state, to_state)
        with _lock_timeout(schema_editor):
            return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not _is_postgresql(schema_editor):
            return migrations.RemoveIndex.database_backwards(
                self, app_label, schema_editor, from_state, to_state)
        with _lock_timeout(schema_editor):
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
