"""The adjustments' CSV export, read from one snapshot of the database."""

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import (
    QuerySet,
)

from rewards.models import Adjustment, Approval

ADJUSTMENT_CSV_HEADER = [
    "id", "created_at", "member_user_id", "card_id", "account_type", "direction", "amount",
    "reason_code", "reason_text", "state", "maker", "approvals", "approved_at", "completed_at",
    "pomelo_status", "pomelo_reference", "idempotency_key", "failure_reason",
]


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _read_snapshot(using: str):
    """On PostgreSQL, one read transaction for the whole export: every chunk sees the same
    snapshot, and the server-side cursor streams rows as they are fetched (outside a
    transaction Django declares it WITH HOLD, which makes PostgreSQL compute the whole result
    before the first row). SQLite (development, tests) would take its write lock for as long."""
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return nullcontext()


def adjustment_csv_rows(
    *, queryset: QuerySet[Adjustment], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The header, then one row per adjustment of `queryset`, in its order.

    Rows are read as plain values (no model instances) from one streaming query, `chunk_size`
    at a time, with one query for the approvals of each chunk: an export of any size holds one
    chunk in memory and costs 1 + rows / chunk_size queries.
    """
    yield list(ADJUSTMENT_CSV_HEADER)
    username = get_user_model().USERNAME_FIELD
    if queryset.query.distinct:
        # DISTINCT would need the ordering columns among the selected values.
        ordering: Sequence[Any] = queryset.query.order_by or Adjustment._meta.ordering or ()
        queryset = Adjustment.objects.filter(pk__in=queryset.order_by().values("pk")).order_by(*ordering)
    rows = queryset.values_list(
        "pk", "created_at", "member__pomelo_user_id", "card__pomelo_card_id", "account_type",
        "direction", "amount", "reason_code", "reason_text", "state",
        f"maker__{username}", "approved_at", "completed_at",
        "pomelo_status_code", "pomelo_reference", "idempotency_key", "failure_reason",
    )
    with _read_snapshot(queryset.db):
        stream = rows.iterator(chunk_size=chunk_size)
        while chunk := list(islice(stream, chunk_size)):
            approvals: dict[int, list[str]] = {}
            given = (
                Approval.objects.filter(adjustment_id__in=[row[0] for row in chunk])
                .order_by("created_at", "id")
                .values_list("adjustment_id", f"approver__{username}", "created_at", "comment")
            )
            for adjustment_id, approver, at, comment in given:
                approvals.setdefault(adjustment_id, []).append(f"{approver} at {_iso(at)}: {comment}")
            for (pk, created_at, user_id, card_id, account_type, direction, amount, reason_code,
                 reason_text, state, maker, approved_at, completed_at, status_code, reference,
                 key, failure) in chunk:
                yield [
                    str(pk), _iso(created_at), user_id, card_id, account_type, direction, str(amount),
                    reason_code, reason_text, state, maker, " | ".join(approvals.get(pk, ())),
                    _iso(approved_at), _iso(completed_at),
                    "" if status_code is None else str(status_code), reference, key, failure,
                ]
