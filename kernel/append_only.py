"""Guards for append-only tables: rows are inserted, never changed or removed.

The ORM guard stops our own code; on PostgreSQL triggers (see the migrations) also stop raw
SQL and anyone with a database console: UPDATE and DELETE row by row, TRUNCATE per statement.
"""

from django.db import models


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no update")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} rows are append-only: no delete")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no update")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} rows are append-only: no delete")


def append_only_trigger_sql(table: str) -> tuple[str, str]:
    """SQL (forward, reverse) for a PostgreSQL trigger that refuses UPDATE and DELETE."""
    function = f"{table}_refuse_change"
    forward = f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {function}();
    """
    reverse = f"""
        DROP TRIGGER IF EXISTS {table}_append_only ON {table};
        DROP FUNCTION IF EXISTS {function}();
    """
    return forward, reverse


# Every trigger refusing TRUNCATE ends with this, so a test run that must empty its database
# can find them all.
REFUSE_TRUNCATE_TRIGGER_SUFFIX = "_refuse_truncate"


def refuse_truncate_trigger_sql(table: str) -> tuple[str, str]:
    """SQL (forward, reverse) for a statement-level trigger that refuses TRUNCATE.

    Row triggers never see TRUNCATE (it removes every row without visiting one), so the table
    needs its own. It raises through the function append_only_trigger_sql created, so the
    message is the same. It also fires when TRUNCATE ... CASCADE reaches the table from a
    table it references.
    """
    forward = f"""
        CREATE TRIGGER {table}{REFUSE_TRUNCATE_TRIGGER_SUFFIX}
            BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_change();
    """
    reverse = f"DROP TRIGGER IF EXISTS {table}{REFUSE_TRUNCATE_TRIGGER_SUFFIX} ON {table};"
    return forward, reverse


def append_only_trigger_operation(table: str):
    """A migration operation installing (or, reversed, removing) the trigger on PostgreSQL;
    other databases rely on the ORM guard alone."""
    return _postgresql_only_operation(*append_only_trigger_sql(table))


def refuse_truncate_trigger_operation(table: str):
    """A migration operation installing (or, reversed, removing) the TRUNCATE trigger on
    PostgreSQL; needs the table's append-only trigger function to exist."""
    return _postgresql_only_operation(*refuse_truncate_trigger_sql(table))


def _postgresql_only_operation(forward_sql: str, reverse_sql: str):
    from django.db import migrations

    def run(sql):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                # No parameters: the SQL's % signs belong to PL/pgSQL's RAISE.
                schema_editor.execute(sql, params=None)
        return apply

    return migrations.RunPython(run(forward_sql), run(reverse_sql))
