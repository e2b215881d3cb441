"""Index migrations on a live system: built CONCURRENTLY, under a lock_timeout, on PostgreSQL."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from kernel.migration_operations import AddIndexOnline

INDEX_MIGRATIONS = [("accounts", "0003_pomelo_id_upper_indexes"), ("rewards", "0007_list_and_search_indexes")]


def _sql(app: str, name: str) -> str:
    out = io.StringIO()
    call_command("sqlmigrate", app, name, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "name"), INDEX_MIGRATIONS)
def test_index_migrations_are_non_atomic_online_operations(app, name):
    migration = MigrationLoader(connection).get_migration(app, name)
    assert migration.atomic is False
    assert all(isinstance(operation, AddIndexOnline) for operation in migration.operations)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("app", "name"), INDEX_MIGRATIONS)
def test_on_postgresql_indexes_are_built_concurrently_under_a_lock_timeout(app, name):
    sql = _sql(app, name)
    creates = [line for line in sql.splitlines() if line.startswith("CREATE INDEX")]
    assert creates and all(line.startswith("CREATE INDEX CONCURRENTLY") for line in creates)
    assert "SET lock_timeout = '5s'" in sql and "RESET lock_timeout" in sql
    assert "BEGIN" not in sql  # no transaction around them


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_they_stay_plain_indexes():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite fallback")
    sql = _sql("accounts", "0003_pomelo_id_upper_indexes")
    assert "CREATE INDEX" in sql and "CONCURRENTLY" not in sql
