"""Updating many rows, each with its own values, in one statement.

Django's bulk_update builds a CASE WHEN per field and row, and resolving those expressions
costs milliseconds of Python per row: more than the whole rest of a 500-notification batch.
On PostgreSQL one UPDATE … FROM (VALUES …) does the same work with plain parameters; other
databases keep bulk_update.
"""

from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, models, router


def _column(field: "models.Field[Any, Any]") -> str:
    # Only a many-to-many field has no column of its own, and those cannot be written here.
    assert field.column is not None
    return field.column


def rows_update(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of every saved object in `objs` (all of one model), by primary key."""
    if not objs:
        return
    model = type(objs[0])
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor != "postgresql":
        model._default_manager.using(using).bulk_update(objs, fields)
        return
    meta = model._meta
    # As with bulk_update, `fields` name concrete fields of the model, never reverse relations,
    # which get_field may also return.
    columns = [cast("models.Field[Any, Any]", meta.get_field(name)) for name in fields]
    for obj in objs:
        # A foreign key to an object saved after it was assigned: copy its new primary key.
        # Model.save and bulk_update call this private method too; the stubs leave it out.
        obj._prepare_related_fields_for_save(  # type: ignore[attr-defined]
            operation_name="rows_update", fields=columns
        )
    quote = connection.ops.quote_name
    pk = meta.pk
    every = [pk, *columns]
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in every) + ")"
    table = quote(meta.db_table)
    pk_column = _column(pk)
    column_names = [_column(f) for f in columns]
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in column_names)
    names = ", ".join(quote(c) for c in [pk_column, *column_names])
    # Within PostgreSQL's 65,535 parameters per statement.
    per_statement = max(1, 60_000 // len(every))
    for start in range(0, len(objs), per_statement):
        chunk = objs[start:start + per_statement]
        params = []
        for obj in chunk:
            params.append(pk.get_db_prep_value(obj.pk, connection))
            params.extend(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns)
        # Identifiers come from the model's metadata, quoted; every value is a parameter.
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(chunk))}) "  # noqa: S608
            f"AS v({names}) WHERE {table}.{quote(pk_column)} = v.{quote(pk_column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
