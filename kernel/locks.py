"""Row locks, taken one way everywhere.

- `of=("self",)`: only the rows of the model asked for are locked, never the rows a
  `select_related` joins in. Locking a joined member or card FOR UPDATE would make a webhook's
  foreign-key check on that card (a KEY SHARE lock) wait on us, and deadlock with us when we
  then wait for a lock the webhook holds.
- several rows are locked in primary-key order, so two transactions locking the same rows
  queue behind each other instead of deadlocking.

Every helper must run inside the caller's transaction: a lock taken in autocommit mode would
end with its statement, and Django refuses that (TransactionManagementError).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def lock_for_update(queryset: models.QuerySet[M]) -> models.QuerySet[M]:
    """`queryset` locking its own rows only (FOR UPDATE OF the model's table)."""
    return queryset.select_for_update(of=("self",))


def lock_one(queryset: models.QuerySet[M], **lookup) -> M:
    """The one row `lookup` matches, locked until the caller's transaction ends.

    Raises the model's DoesNotExist when no row matches."""
    return lock_for_update(queryset).get(**lookup)


def lock_first(queryset: models.QuerySet[M], **lookup) -> M | None:
    """The first row `lookup` matches (by primary key), locked; None when none matches."""
    return lock_for_update(queryset.filter(**lookup)).order_by("pk").first()


def lock_many(queryset: models.QuerySet[M], pks: Iterable[object]) -> list[M]:
    """The rows with these primary keys, locked in primary-key order (missing ones are left
    out)."""
    return list(lock_for_update(queryset.filter(pk__in=list(pks))).order_by("pk"))


def lock_or_create(manager: models.Manager[M] | models.QuerySet[M], *, defaults=None,
                   **lookup) -> tuple[M, bool]:
    """get_or_create under a lock: the row found (or the one just inserted) stays locked until
    the caller commits; two callers inserting at once meet on the unique constraint and the
    loser reads the winner's row."""
    return lock_for_update(manager.all()).get_or_create(defaults=defaults, **lookup)
