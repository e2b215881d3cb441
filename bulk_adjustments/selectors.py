"""Reading bulk batches: progress, rows with their outcome, the result file, the audit."""

from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from bulk_adjustments.csv_file import COLUMNS
from bulk_adjustments.models import BulkBatch, BulkRow
from kernel import permissions as perms
from rewards.models import Adjustment, AuditEntry

AS = Adjustment.State


class Outcome:
    INVALID = "invalid"
    WAITING = "waiting"
    NOT_CREATED = "not_created"
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    OUTCOME_UNKNOWN = "outcome_unknown"
    LABELS = {
        INVALID: _("Invalid (not requested)"),
        WAITING: _("Waiting"),
        NOT_CREATED: _("Not created"),
        IN_PROGRESS: _("In progress"),
        SUCCEEDED: _("Succeeded"),
        FAILED: _("Failed"),
        OUTCOME_UNKNOWN: _("Outcome unknown (an approver decides on the adjustment's page)"),
    }
    # Final for the batch's pass; the failed ones can be retried.
    RETRYABLE = (NOT_CREATED, FAILED)


_IN_PROGRESS = (AS.PENDING_APPROVAL, AS.APPROVED, AS.SUBMITTING)
_FAILED = (AS.FAILED, AS.REJECTED, AS.CANCELLED, AS.EXPIRED)
_FILTERS = {
    Outcome.INVALID: Q(valid=False),
    Outcome.WAITING: Q(valid=True, adjustment__isnull=True, error=""),
    Outcome.NOT_CREATED: Q(valid=True, adjustment__isnull=True, error__gt=""),
    Outcome.IN_PROGRESS: Q(adjustment__state__in=_IN_PROGRESS),
    Outcome.SUCCEEDED: Q(adjustment__state=AS.SUCCEEDED),
    Outcome.FAILED: Q(adjustment__state__in=_FAILED),
    Outcome.OUTCOME_UNKNOWN: Q(adjustment__state=AS.OUTCOME_UNKNOWN),
}


def row_outcome(row: BulkRow) -> str:
    if not row.valid:
        return Outcome.INVALID
    if row.adjustment is None:
        return Outcome.NOT_CREATED if row.error else Outcome.WAITING
    state = row.adjustment.state
    if state == AS.SUCCEEDED:
        return Outcome.SUCCEEDED
    if state == AS.OUTCOME_UNKNOWN:
        return Outcome.OUTCOME_UNKNOWN
    return Outcome.FAILED if state in _FAILED else Outcome.IN_PROGRESS


@dataclass
class Progress:
    counts: dict[str, int]
    total: int

    @property
    def valid(self) -> int:
        return self.total - self.counts[Outcome.INVALID]

    @property
    def settled(self) -> int:
        return sum(self.counts[o] for o in (Outcome.SUCCEEDED, Outcome.FAILED, Outcome.NOT_CREATED,
                                            Outcome.OUTCOME_UNKNOWN))

    @property
    def percent(self) -> int:
        return 100 if not self.valid else int(100 * self.settled / self.valid)

    @property
    def finished(self) -> bool:
        return self.counts[Outcome.WAITING] == 0 and self.counts[Outcome.IN_PROGRESS] == 0

    @property
    def retryable(self) -> int:
        return sum(self.counts[o] for o in Outcome.RETRYABLE)

    def labelled(self) -> list[tuple[str, str, int]]:
        return [(key, Outcome.LABELS[key], count) for key, count in self.counts.items()]


def batch_progress(*, batch: BulkBatch) -> Progress:
    counts = batch.rows.aggregate(
        total=Count("pk"), **{key: Count("pk", filter=q) for key, q in _FILTERS.items()}
    )
    total = counts.pop("total")
    return Progress(counts=counts, total=total)


def batch_rows(*, batch: BulkBatch, outcome: str | None = None) -> QuerySet[BulkRow]:
    rows = batch.rows.select_related("adjustment", "member", "card").order_by("line")
    if outcome in _FILTERS:
        rows = rows.filter(_FILTERS[outcome])
    return rows


RESULT_HEADER = [
    "line", *COLUMNS, "outcome", "adjustment_id", "idempotency_key", "pomelo_reference", "error",
    "previous_adjustments",
]


def batch_result_rows(*, batch: BulkBatch) -> Iterator[list[str]]:
    """The result file: every line of the upload with its outcome, header first."""
    yield RESULT_HEADER
    rows = batch.rows.select_related("adjustment").order_by("line")
    for row in rows.iterator(chunk_size=500):
        adjustment = row.adjustment
        outcome = row_outcome(row)
        error = row.error
        if adjustment is not None and outcome in (Outcome.FAILED, Outcome.OUTCOME_UNKNOWN):
            error = adjustment.failure_reason or adjustment.get_state_display()
        yield [
            str(row.line), row.pomelo_user_id, row.pomelo_card_id, row.account_type, row.direction,
            "" if row.amount is None else str(row.amount), row.reason_code, row.reason_text,
            outcome, str(adjustment.pk) if adjustment else "",
            adjustment.idempotency_key if adjustment else "",
            adjustment.pomelo_reference if adjustment else "", error,
            " ".join(str(pk) for pk in row.previous_adjustments),
        ]


def batch_audit(*, batch: BulkBatch) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(data__batch=batch.pk).order_by("created_at", "id")


def batch_actions(
    *, batch: BulkBatch, user: AbstractBaseUser, progress: Progress | None = None
) -> dict[str, bool]:
    pending = batch.state == BulkBatch.State.PENDING_APPROVAL
    approved = batch.state == BulkBatch.State.APPROVED
    return {
        "can_review": pending and batch.maker_id != user.pk
        and user.has_perm(perms.APPROVE_BULK_BATCH)
        and not batch.approvals.filter(approver=user).exists(),
        "can_cancel": pending and batch.maker_id == user.pk,
        "can_retry": approved and user.has_perm(perms.RETRY_BULK_BATCH)
        and progress is not None and progress.retryable > 0,
        "can_export": user.has_perm(perms.EXPORT_BULK_BATCH),
    }
