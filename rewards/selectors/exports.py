"""The finance CSV exports (adjustments, the audit trail, the ledger, reward events), each read
from one snapshot of the database.

Every function yields the header, then one row per record of the given queryset (the admin
list's filtered set, in its order), as lists of strings. Rows are read as plain values (no
model instances) from one streaming query, `chunk_size` at a time: an export of any size holds
one chunk in memory.

How the cells are written, for the spreadsheet and for a program reading the file:
- times in the current time zone (the `TIME_ZONE` setting), as `YYYY-MM-DD HH:MM:SS`, the
  zone named in the column's header;
- amounts as plain decimals with a dot and no thousands separator, whatever the staff's
  language (`1234.50`), so that the file is read the same everywhere;
- states, directions and buckets as their codes (`pending_approval`), stable across languages.
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry, RewardEvent
from rewards.policies import MAX_APPROVALS_REQUIRED

ACTION_LABELS = dict(AuditEntry.Action.choices)
M = TypeVar("M", bound=Model)


def _local(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _at(label: str) -> str:
    """A time column's header: its label and the zone its times are in."""
    return f"{label} ({timezone.get_current_timezone_name()})"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _read_snapshot(using: str):
    """On PostgreSQL, one read transaction for the whole export: every chunk sees the same
    snapshot, and the server-side cursor streams rows as they are fetched (outside a
    transaction Django declares it WITH HOLD, which makes PostgreSQL compute the whole result
    before the first row). SQLite (development, tests) would take its write lock for as long."""
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return nullcontext()


def _without_distinct(queryset: QuerySet[M]) -> QuerySet[M]:
    """The same rows without DISTINCT (a search across a relation adds it), which would need
    the ordering columns among the selected values."""
    if not queryset.query.distinct:
        return queryset
    model = queryset.model
    ordering: Sequence[Any] = queryset.query.order_by or model._meta.ordering or ()
    return model._default_manager.filter(pk__in=queryset.order_by().values("pk")).order_by(*ordering)


def _chunks(queryset: QuerySet, fields: Sequence[str], chunk_size: int) -> Iterator[list[tuple]]:
    rows = _without_distinct(queryset).values_list(*fields)
    with _read_snapshot(queryset.db):
        stream = rows.iterator(chunk_size=chunk_size)
        while chunk := list(islice(stream, chunk_size)):
            yield chunk


def adjustment_csv_header() -> list[str]:
    approvals: list[str] = []
    for n in range(1, MAX_APPROVALS_REQUIRED + 1):
        approvals += [
            _("Approver %(n)s") % {"n": n},
            _at(_("Approved at %(n)s") % {"n": n}),
            _("Approval comment %(n)s") % {"n": n},
        ]
    return [
        _("Id"), _at(_("Created at")), _("Member"), _("Member user id"), _("Card id"),
        _("Account type"), _("Direction"), _("Amount"), _("Reason code"), _("Reason text"),
        _("State"), _("Maker"), _("Approvals required"), *approvals,
        _at(_("Approved at")), _at(_("Completed at")), _("Pomelo status"), _("Pomelo reference"),
        _("Idempotency key"), _("Failure reason"),
    ]


def adjustment_csv_rows(
    *, queryset: QuerySet[Adjustment], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The adjustments, one approval per column group (approver, time, comment) up to the
    most approvals an adjustment can need; one query for the approvals of each chunk."""
    yield adjustment_csv_header()
    username = get_user_model().USERNAME_FIELD
    fields = [
        "pk", "created_at", "member__name", "member__pomelo_user_id", "card__pomelo_card_id",
        "account_type", "direction", "amount", "reason_code", "reason_text", "state",
        f"maker__{username}", "approvals_required", "approved_at", "completed_at",
        "pomelo_status_code", "pomelo_reference", "idempotency_key", "failure_reason",
    ]
    for chunk in _chunks(queryset, fields, chunk_size):
        approvals: dict[int, list[str]] = {}
        given = (
            Approval.objects.filter(adjustment_id__in=[row[0] for row in chunk])
            .order_by("created_at", "id")
            .values_list("adjustment_id", f"approver__{username}", "created_at", "comment")
        )
        for adjustment_id, approver, at, comment in given:
            approvals.setdefault(adjustment_id, []).extend([approver, _local(at), comment])
        width = 3 * MAX_APPROVALS_REQUIRED
        for (pk, created_at, name, user_id, card_id, account_type, direction, amount, reason_code,
             reason_text, state, maker, required, approved_at, completed_at, status_code,
             reference, key, failure) in chunk:
            cells = approvals.get(pk, [])[:width]
            yield [
                str(pk), _local(created_at), name, user_id, _text(card_id), account_type,
                direction, str(amount), reason_code, reason_text, state, maker, str(required),
                *cells, *[""] * (width - len(cells)),
                _local(approved_at), _local(completed_at), _text(status_code), reference, key,
                failure,
            ]


def audit_csv_rows(
    *, queryset: QuerySet[AuditEntry], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The audit trail; the data column holds each entry's details as JSON."""
    yield [
        _("Id"), _at(_("Created at")), _("Action"), _("Action code"), _("Actor"),
        _("IP address"), _("Adjustment"), _("Member"), _("Member user id"), _("From state"),
        _("To state"), _("Comment"), _("Data"),
    ]
    fields = [
        "pk", "created_at", "action", "actor_name", "ip_address", "adjustment_id", "member__name",
        "member__pomelo_user_id", "from_state", "to_state", "comment", "data",
    ]
    for chunk in _chunks(queryset, fields, chunk_size):
        for (pk, created_at, action, actor, ip_address, adjustment_id, name, user_id, from_state,
             to_state, comment, data) in chunk:
            yield [
                str(pk), _local(created_at), str(ACTION_LABELS.get(action, action)), action, actor,
                _text(ip_address), _text(adjustment_id), _text(name), _text(user_id), from_state,
                to_state, comment,
                json.dumps(data, sort_keys=True, ensure_ascii=False, default=str) if data else "",
            ]


def ledger_csv_rows(
    *, queryset: QuerySet[LedgerEntry], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The ledger entries with their account and cause (a reward event or an adjustment)."""
    yield [
        _("Id"), _at(_("Created at")), _("Member"), _("Member user id"), _("Account type"),
        _("Bucket"), _("Amount"), _("Description"), _("Transaction id"), _("Adjustment"),
        _("Entry hash"),
    ]
    fields = [
        "pk", "created_at", "account__member__name", "account__member__pomelo_user_id",
        "account__account_type", "bucket", "amount", "description",
        "reward_event__transaction_id", "adjustment_id", "entry_hash",
    ]
    for chunk in _chunks(queryset, fields, chunk_size):
        for (pk, created_at, name, user_id, account_type, bucket, amount, description,
             transaction_id, adjustment_id, entry_hash) in chunk:
            yield [
                str(pk), _local(created_at), name, user_id, account_type, bucket, str(amount),
                description, _text(transaction_id), _text(adjustment_id), entry_hash,
            ]


def reward_event_csv_rows(
    *, queryset: QuerySet[RewardEvent], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The reward events; a cancellation kept before its reward has no member yet."""
    yield [
        _("Id"), _("Transaction id"), _at(_("Created at")), _("Member"), _("Member user id"),
        _("Card id"), _("Account type"), _("State"), _("Amount"), _at(_("Pending at")),
        _at(_("Confirmed at")), _at(_("Cancelled at")), _("Needs review"), _("Review reason"),
    ]
    fields = [
        "pk", "transaction_id", "created_at", "account__member__name",
        "account__member__pomelo_user_id", "card__pomelo_card_id", "account_type", "state",
        "amount", "pending_at", "confirmed_at", "cancelled_at", "needs_review", "review_reason",
    ]
    for chunk in _chunks(queryset, fields, chunk_size):
        for (pk, transaction_id, created_at, name, user_id, card_id, account_type, state, amount,
             pending_at, confirmed_at, cancelled_at, needs_review, review_reason) in chunk:
            yield [
                str(pk), transaction_id, _local(created_at), _text(name), _text(user_id),
                _text(card_id), account_type, state, str(amount), _local(pending_at),
                _local(confirmed_at), _local(cancelled_at), "yes" if needs_review else "no",
                review_reason,
            ]
