"""Guards for append-only tables: rows are inserted, never changed or removed.

The ORM guard stops our own code; on PostgreSQL a trigger (see the migrations) also stops raw
SQL and anyone with a database console.
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


def append_only_trigger_operation(table: str):
    """A migration operation installing (or, reversed, removing) the trigger on PostgreSQL;
    other databases rely on the ORM guard alone."""
    from django.db import migrations

    forward_sql, reverse_sql = append_only_trigger_sql(table)

    def run(sql):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                # No parameters: the SQL's % signs belong to PL/pgSQL's RAISE.
                schema_editor.execute(sql, params=None)
        return apply

    return migrations.RunPython(run(forward_sql), run(reverse_sql))
