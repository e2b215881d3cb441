"""The claim on a notification, in the two statements the intake runs: the INSERT of a
delivery that either stores and claims the notification or, when another delivery already
claims it, stores nothing; and the read of the delivery that holds the claim.

Storing what Pomelo signed is the whole cost of a webhook request, so the statement is built
once per database and only the values are prepared per request, each by its own model field
(`get_db_prep_save`, as `Model.save()` prepares them). `ON CONFLICT DO NOTHING` lets the claim's
unique constraint (`delivery_one_claim_per_notification`, the only unique constraint besides the
primary key) decide a duplicate without raising: no exception to unwind, no savepoint to roll
back, and the statement is safe inside a caller's transaction. PostgreSQL and SQLite (3.35+)
both read this syntax. The claimer's read is prepared once too: a copy costs a failed claim,
this read and the INSERT of the copy.
"""

import functools

from django.db import connection
from django.db.models import Field

from webhooks.models import Delivery


@functools.cache
def _insert_statement(vendor: str) -> tuple[str, tuple[Field, ...]]:
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
    sql, fields = _insert_statement(connection.vendor)
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


@functools.cache
def _claimer_statement(vendor: str) -> str:
    meta = Delivery._meta
    quote = connection.ops.quote_name
    claiming = ", ".join(["%s"] * len(Delivery.CLAIMING_OUTCOMES))
    # The predicate repeats the claim's unique constraint, so its partial index serves the read.
    return (
        f"SELECT {quote('id')}, {quote('body')}, {quote('body_pruned_at')} "  # noqa: S608
        f"FROM {quote(meta.db_table)} WHERE {quote('kind')} = %s "
        f"AND {quote('idempotency_key')} = %s AND {quote('idempotency_key')} <> '' "
        f"AND {quote('outcome')} IN ({claiming}) AND {quote('id')} <> %s LIMIT 1"
    )


def delivery_claimer(*, kind: str, idempotency_key: str,
                     other_than: int | None = None) -> tuple[int, bytes, bool] | None:
    """The delivery that holds the claim on (kind, idempotency_key), other than `other_than`:
    its id, its body and whether that body was pruned. None when nobody holds it (a delivery
    without a key claims nothing)."""
    if not idempotency_key:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_claimer_statement(connection.vendor), [
            kind, idempotency_key, *map(str, Delivery.CLAIMING_OUTCOMES),
            -1 if other_than is None else other_than,
        ])
        row = cursor.fetchone()
    return (row[0], bytes(row[1]), row[2] is not None) if row else None
