"""Migration tests: move the test database to a past migration, fill it with that state's
models, migrate forward and check what the migration did to the rows."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: list[tuple[str, str]]) -> Apps:
    """Migrate to `targets` (forwards or backwards); the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> None:
    migrate_to(MigrationExecutor(connection).loader.graph.leaf_nodes())


@contextmanager
def database_at(targets: list[tuple[str, str]]) -> Iterator[Apps]:
    """The database at `targets` for the block; every migration applied again afterwards, so
    the next test finds the schema it expects whatever the block did."""
    apps = migrate_to(targets)
    try:
        yield apps
    finally:
        migrate_to_latest()
