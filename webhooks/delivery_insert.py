"""The intake's INSERT of a delivery row: one statement that either stores and claims the
notification or, when another delivery already claims it, stores nothing.

Storing what Pomelo signed is the whole cost of a webhook request, so the statement is built
once per database and only the values are prepared per request, each by its own model field
(`get_db_prep_save`, as `Model.save()` prepares them). `ON CONFLICT DO NOTHING` lets the claim's
unique constraint (`delivery_one_claim_per_notification`, the only unique constraint besides the
primary key) decide a duplicate without raising: no exception to unwind, no savepoint to roll
back, and the statement is safe inside a caller's transaction. PostgreSQL and SQLite (3.35+)
both read this syntax.
"""

import functools

from django.db import connection
from django.db.models import Field

from webhooks.models import Delivery


@functools.cache
def _statement(vendor: str) -> tuple[str, tuple[Field, ...]]:
    meta = Delivery._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    # Only the model's own table and column names, quoted, go into the text; values are bound.
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"
    )
    return sql, fields


def delivery_row_insert(delivery: Delivery) -> bool:
    """INSERT `delivery` as `save(force_insert=True)` would and set its primary key; False
    (nothing stored) when another delivery already claims its (kind, idempotency_key)."""
    sql, fields = _statement(connection.vendor)
    values = [field.get_db_prep_save(field.pre_save(delivery, add=True), connection)
              for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    delivery.pk = row[0]
    delivery._state.adding = False
    delivery._state.db = connection.alias
    return True
