"""Bulk credits and debits: preview a file, create the batch, approve it once (maker-checker,
as a single adjustment), then turn each row into its own adjustment and submit them.

Entry points are one durable transaction each and audit every step. The rows' adjustments are
made and approved by the single-adjustment services, and sent by its submission service (claim,
call, record, under a lease), so every rule of a single adjustment holds for each row.
"""

import logging
import queue
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from bulk_adjustments.csv_file import BulkFileError, csv_rows_read
from bulk_adjustments.models import BulkApproval, BulkBatch, BulkRow
from bulk_adjustments.policies import batch_expires_at
from bulk_adjustments.validation import Preview, preview_build
from kernel import permissions as perms
from kernel.tasks import task_enqueue_in_transaction
from pomelo import PomeloClient
from rewards.audit import audit_record
from rewards.models import Adjustment, AuditEntry
from rewards.services.adjustments import (
    AdjustmentError,
    adjustment_approve_joined,
    adjustment_request_joined,
    adjustment_submit,
)

logger = logging.getLogger(__name__)
State = BulkBatch.State
Action = AuditEntry.Action
RETRYABLE_ADJUSTMENT_STATES = (Adjustment.State.FAILED,)
PROCESS_CHUNK_ROWS = 100


class BulkBatchError(Exception):
    """A request that breaks a rule. The message is shown to staff as is."""


def _audit(*, action: str, actor, batch: BulkBatch | None, ip_address=None, from_state="",
           to_state="", comment="", data=None, member=None) -> None:
    audit_record(action=action, actor=actor, ip_address=ip_address, member=member,
                 from_state=from_state, to_state=to_state, comment=comment,
                 data={**({"batch": batch.pk} if batch is not None else {}), **(data or {})})


def _maker_check(maker: AbstractBaseUser) -> None:
    if not (maker.has_perm(perms.ADD_BULK_BATCH) and maker.has_perm(perms.ADD_ADJUSTMENT)):
        raise BulkBatchError(gettext("You do not have permission to upload bulk adjustments."))


def bulk_file_preview(
    *, maker: AbstractBaseUser, file_name: str, content: bytes, ip_address: str | None = None
) -> Preview:
    """Read and validate an upload; nothing of it is kept (the audit notes the file's hash).
    Raises BulkFileError when the file as a whole is unusable."""
    _maker_check(maker)
    try:
        preview = preview_build(file_name=file_name, content=content, rows=csv_rows_read(content))
    except BulkFileError as exc:
        # The audit trail keeps the problems in English; the page shows them translated.
        with translation.override(settings.LANGUAGE_CODE):
            stored = "; ".join(str(problem) for problem in exc.problems)
        with transaction.atomic(durable=True):
            _audit(action=Action.BULK_FILE_PREVIEWED, actor=maker, batch=None, ip_address=ip_address,
                   comment="refused: " + stored[:2000],
                   data={"file_name": file_name[:255], "file_size": len(content)})
        raise
    with transaction.atomic(durable=True):
        _audit(action=Action.BULK_FILE_PREVIEWED, actor=maker, batch=None, ip_address=ip_address,
               data={"file_name": file_name[:255], "file_sha256": preview.file_sha256,
                     "rows": len(preview.rows), "valid": len(preview.valid_rows),
                     "totals": preview.totals})
    return preview


def bulk_batch_create(
    *, maker: AbstractBaseUser, file_name: str, content: bytes, previewed_digest: str,
    ip_address: str | None = None,
) -> BulkBatch:
    """The maker confirms what the preview showed. The file (kept by the server since the
    upload) is read and validated again; if the outcome differs from what was previewed (a
    balance or an open request changed meanwhile) nothing is created."""
    _maker_check(maker)
    preview = preview_build(file_name=file_name, content=content, rows=csv_rows_read(content))
    if preview.digest != previewed_digest:
        raise BulkBatchError(
            gettext(
                "The rows' checks changed since the preview (a balance, a card or an open "
                "request changed). Review the new preview and confirm again.")
        )
    if not preview.valid_rows:
        raise BulkBatchError(gettext("No row is valid; there is nothing to request."))
    now = timezone.now()
    try:
        return _batch_insert(maker=maker, preview=preview, now=now, ip_address=ip_address)
    except IntegrityError:
        pending = BulkBatch.objects.filter(file_sha256=preview.file_sha256,
                                           state=State.PENDING_APPROVAL).first()
        raise BulkBatchError(
            "This file is already waiting for approval"
            + (f" as batch #{pending.pk}." if pending else ".")
        ) from None


def _batch_insert(*, maker, preview: Preview, now, ip_address) -> BulkBatch:
    with transaction.atomic(durable=True):
        batch = BulkBatch.objects.create(
            maker=maker, file_name=preview.file_name[:255], file_sha256=preview.file_sha256,
            file_size=preview.file_size, row_count=len(preview.rows),
            valid_count=len(preview.valid_rows), totals=preview.totals,
            approvals_required=preview.approvals_required, created_at=now,
            expires_at=batch_expires_at(created_at=now),
        )
        BulkRow.objects.bulk_create([_row(batch, check) for check in preview.rows], batch_size=500)
        _audit(action=Action.BULK_BATCH_REQUESTED, actor=maker, batch=batch, ip_address=ip_address,
               to_state=batch.state,
               data={"file_name": batch.file_name, "file_sha256": batch.file_sha256,
                     "rows": batch.row_count, "valid": batch.valid_count, "totals": batch.totals,
                     "approvals_required": batch.approvals_required})
    return batch


def _row(batch: BulkBatch, check) -> BulkRow:
    cells = check.cells
    return BulkRow(
        batch=batch, line=check.line,
        pomelo_user_id=cells.get("pomelo_user_id", "")[:64],
        pomelo_card_id=cells.get("card_id", "")[:64],
        account_type=(check.account_type or cells["account_type"])[:32],
        direction=(check.direction or cells["direction"])[:8],
        amount=check.amount, reason_code=(check.reason_code or cells["reason_code"])[:16],
        reason_text=check.reason_text, valid=check.valid, error=check.error,
        member_id=check.member_id if check.valid else None,
        card_id=check.card_id if check.valid else None,
    )


# --- Approval (maker-checker, as for a single adjustment) -------------------------------------


def _locked(batch_id: int) -> BulkBatch:
    try:
        return BulkBatch.objects.select_for_update(of=("self",)).get(pk=batch_id)
    except BulkBatch.DoesNotExist:
        raise BulkBatchError(gettext(
            "Batch #%(batch_id)s does not exist.") % {"batch_id": batch_id}) from None


def _transition(batch: BulkBatch, new_state: str, *, actor, ip_address, action, comment="",
                data=None, update_fields=()) -> None:
    previous, batch.state = batch.state, new_state
    batch.save(update_fields=["state", "updated_at", *update_fields])
    _audit(action=action, actor=actor, batch=batch, ip_address=ip_address, from_state=previous,
           to_state=new_state, comment=comment, data=data)


def _expire_if_overdue(batch: BulkBatch, *, now) -> bool:
    if batch.state == State.PENDING_APPROVAL and batch.expires_at <= now:
        batch.completed_at = now
        _transition(batch, State.EXPIRED, actor=None, ip_address=None, action=Action.BULK_BATCH_EXPIRED,
                    comment=f"not approved within {settings.ADJUSTMENT_EXPIRY_HOURS} h",
                    update_fields=["completed_at"])
        return True
    return False


# One whole sentence per verb, so each language words it its own way.
_REFUSALS = {
    "approve": {
        "permission": gettext_lazy("You do not have permission to approve bulk batches."),
        "own": gettext_lazy("You uploaded batch #%(pk)s; you cannot approve it."),
        "comment": gettext_lazy("A comment is required to approve a batch."),
        "state": gettext_lazy(
            "Batch #%(pk)s is %(state)s; only a batch pending approval can be approved."),
    },
    "reject": {
        "permission": gettext_lazy("You do not have permission to reject bulk batches."),
        "own": gettext_lazy("You uploaded batch #%(pk)s; you cannot reject it."),
        "comment": gettext_lazy("A comment is required to reject a batch."),
        "state": gettext_lazy(
            "Batch #%(pk)s is %(state)s; only a batch pending approval can be rejected."),
    },
}


def _checker_validate(batch: BulkBatch, *, approver, comment: str, verb: str) -> str:
    refusals = _REFUSALS[verb]
    if not approver.has_perm(perms.APPROVE_BULK_BATCH):
        raise BulkBatchError(str(refusals["permission"]))
    if batch.maker_id == approver.pk:
        raise BulkBatchError(str(refusals["own"]) % {"pk": batch.pk})
    comment = (comment or "").strip()
    if not comment:
        raise BulkBatchError(str(refusals["comment"]))
    if batch.state != State.PENDING_APPROVAL:
        raise BulkBatchError(str(refusals["state"]) % {
            "pk": batch.pk, "state": batch.get_state_display().lower(),
        })
    return comment


def _enqueue_processing(batch: BulkBatch) -> None:
    from bulk_adjustments.tasks import bulk_batch_process_task

    task_enqueue_in_transaction(bulk_batch_process_task, batch_id=batch.pk)


def bulk_batch_approve(
    *, batch_id: int, approver: AbstractBaseUser, comment: str, ip_address: str | None = None
) -> BulkBatch:
    """Record one approval; with enough of them the batch is approved and its rows are queued
    for the worker."""
    with transaction.atomic(durable=True):
        batch = _locked(batch_id)
        expired = _expire_if_overdue(batch, now=timezone.now())
        if not expired:
            comment = _checker_validate(batch, approver=approver, comment=comment, verb="approve")
            if batch.approvals.filter(approver=approver).exists():
                raise BulkBatchError(
                    gettext(
                        "You already approved batch #%(pk)s; a different approver is needed.") % {
                        "pk": batch.pk,
                    }
                )
            BulkApproval.objects.create(batch=batch, approver=approver, comment=comment)
            given = batch.approvals.count()
            data = {"approval": given, "of": batch.approvals_required, "totals": batch.totals}
            if given < batch.approvals_required:
                _audit(action=Action.BULK_BATCH_APPROVED, actor=approver, batch=batch,
                       ip_address=ip_address, from_state=batch.state, to_state=batch.state,
                       comment=comment, data=data)
            else:
                batch.approved_at = timezone.now()
                _transition(batch, State.APPROVED, actor=approver, ip_address=ip_address,
                            action=Action.BULK_BATCH_APPROVED, comment=comment, data=data,
                            update_fields=["approved_at"])
                _enqueue_processing(batch)
    if expired:
        # Outside the block so the expiry commits; the approval is refused.
        raise BulkBatchError(gettext("Batch #%(batch_id)s expired before it was approved.") % {
            "batch_id": batch_id,
        })
    return batch


def bulk_batch_reject(
    *, batch_id: int, approver: AbstractBaseUser, comment: str, ip_address: str | None = None
) -> BulkBatch:
    with transaction.atomic(durable=True):
        batch = _locked(batch_id)
        comment = _checker_validate(batch, approver=approver, comment=comment, verb="reject")
        batch.completed_at = timezone.now()
        _transition(batch, State.REJECTED, actor=approver, ip_address=ip_address,
                    action=Action.BULK_BATCH_REJECTED, comment=comment, update_fields=["completed_at"])
    return batch


def bulk_batch_cancel(
    *, batch_id: int, maker: AbstractBaseUser, comment: str = "", ip_address: str | None = None
) -> BulkBatch:
    """The maker withdraws their batch while it waits for approval."""
    with transaction.atomic(durable=True):
        batch = _locked(batch_id)
        if batch.maker_id != maker.pk:
            raise BulkBatchError(gettext("Only the person who uploaded a batch can cancel it."))
        if batch.state != State.PENDING_APPROVAL:
            raise BulkBatchError(
                gettext(
                    "Batch #%(pk)s is %(state)s; only a batch pending approval can be "
                    "cancelled.") % {
                    "pk": batch.pk,
                    "state": batch.get_state_display().lower(),
                }
            )
        batch.completed_at = timezone.now()
        _transition(batch, State.CANCELLED, actor=maker, ip_address=ip_address,
                    action=Action.BULK_BATCH_CANCELLED, comment=(comment or "").strip(),
                    update_fields=["completed_at"])
    return batch


def bulk_batch_expire_overdue(*, now=None) -> int:
    now = now or timezone.now()
    expired = 0
    overdue = BulkBatch.objects.filter(state=State.PENDING_APPROVAL, expires_at__lte=now)
    for batch_id in overdue.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            expired += _expire_if_overdue(_locked(batch_id), now=now)
    return expired


# --- Processing: each row becomes its own adjustment, submitted with bounded concurrency -------


def _row_adjustment_create(*, row_id: int, batch: BulkBatch, approvals: list[BulkApproval]) -> None:
    """Make the row's adjustment, approved by the batch's approvers (each approval recorded on
    it by the single-adjustment service), or record why that was refused. Once per attempt: the
    row's lock and its link to the adjustment see to it.

    In LANGUAGE_CODE: a refusal is stored as the row's error and in the audit trail, whoever's
    request happens to run the task."""
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic(durable=True):
        row = BulkRow.objects.select_for_update(of=("self",)).select_related("member", "card").get(pk=row_id)
        if not row.valid or row.adjustment_id is not None or row.error:
            return
        row.attempts += 1
        try:
            with transaction.atomic():
                adjustment = adjustment_request_joined(
                    maker=batch.maker, member=row.member, card=row.card,
                    account_type=row.account_type, direction=row.direction, amount=row.amount,
                    reason_code=row.reason_code, reason_text=row.reason_text,
                )
                # Linked before the approvals: the link is how the makers' notices know a bulk
                # row (told through its batch) from a request made by hand.
                row.adjustment = adjustment
                row.save(update_fields=["adjustment", "attempts", "updated_at"])
                for approval in approvals:
                    adjustment = adjustment_approve_joined(
                        adjustment_id=adjustment.pk, approver=approval.approver,
                        comment=f"Approved with bulk batch #{batch.pk}: {approval.comment}",
                        enqueue_submission=False,
                    )
                    if adjustment.state != Adjustment.State.PENDING_APPROVAL:
                        break
        except AdjustmentError as exc:
            row.error = str(exc)
            row.save(update_fields=["error", "attempts", "updated_at"])
            _audit(action=Action.BULK_ROW_NOT_CREATED, actor=None, batch=batch, member=row.member,
                   comment=row.error, data={"line": row.line, "attempt": row.attempts})


def _submit_one(adjustment_id: int, client: PomeloClient) -> None:
    try:
        adjustment_submit(adjustment_id=adjustment_id, client=client)
    except Exception:
        # The adjustment stays approved or submitting; its watchdog or the sweep resumes it.
        logger.exception("bulk submission of adjustment #%s failed", adjustment_id)


def _submit_all(adjustment_ids: list[int], *, client: PomeloClient | None) -> None:
    workers = settings.BULK_ADJUSTMENT_SUBMIT_CONCURRENCY
    if workers <= 1 or len(adjustment_ids) <= 1:
        client = client or PomeloClient.from_settings()
        for adjustment_id in adjustment_ids:
            _submit_one(adjustment_id, client)
        return
    pending: queue.SimpleQueue[int] = queue.SimpleQueue()
    for adjustment_id in adjustment_ids:
        pending.put(adjustment_id)

    def sender() -> None:
        # Each sender has its own client (a requests session is not shared between threads)
        # and its own database connection, closed when the queue is empty.
        own_client = PomeloClient.from_settings()
        try:
            while True:
                try:
                    adjustment_id = pending.get_nowait()
                except queue.Empty:
                    return
                _submit_one(adjustment_id, own_client)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulk-submit") as pool:
        for future in [pool.submit(sender) for _ in range(min(workers, len(adjustment_ids)))]:
            future.result()


def _approved_of(batch: BulkBatch, *, row_ids: list[int] | None = None) -> list[int]:
    rows = batch.rows.filter(adjustment__state=Adjustment.State.APPROVED)
    if row_ids is not None:
        rows = rows.filter(pk__in=row_ids)
    return list(rows.order_by("adjustment_id").values_list("adjustment_id", flat=True))


def bulk_batch_process(*, batch_id: int, client: PomeloClient | None = None) -> dict[str, int]:
    """The worker's pass over an approved batch: create the adjustments still missing and send
    them, a chunk of rows at a time, at most BULK_ADJUSTMENT_SUBMIT_CONCURRENCY calls at once.
    Chunks keep each adjustment's wait between approval and claim short, well inside the lease
    after which the adjustments' own sweep would send it instead. Running it twice (or after a
    crash) creates and sends nothing twice. Returns the rows' outcomes."""
    from bulk_adjustments.selectors import batch_progress

    batch = BulkBatch.objects.select_related("maker").get(pk=batch_id)
    if batch.state != State.APPROVED:
        return {}
    BulkBatch.objects.filter(pk=batch.pk).update(processing_started_at=timezone.now())
    approvals = list(batch.approvals.select_related("approver"))
    _submit_all(_approved_of(batch), client=client)  # left approved by an earlier pass
    waiting = batch.rows.filter(valid=True, adjustment__isnull=True, error="")
    row_ids = list(waiting.order_by("pk").values_list("pk", flat=True))
    chunk = max(PROCESS_CHUNK_ROWS, settings.BULK_ADJUSTMENT_SUBMIT_CONCURRENCY)
    for start in range(0, len(row_ids), chunk):
        chunk_ids = row_ids[start:start + chunk]
        for row_id in chunk_ids:
            _row_adjustment_create(row_id=row_id, batch=batch, approvals=approvals)
        _submit_all(_approved_of(batch, row_ids=chunk_ids), client=client)
    outcome = batch_progress(batch=batch).counts
    with transaction.atomic(durable=True):
        batch = _locked(batch_id)
        batch.processed_at = timezone.now()
        batch.save(update_fields=["processed_at", "updated_at"])
        _audit(action=Action.BULK_BATCH_PROCESSED, actor=None, batch=batch,
               from_state=batch.state, to_state=batch.state, data={"outcomes": outcome})
    return outcome


def bulk_rows_retry(
    *, batch_id: int, actor: AbstractBaseUser, comment: str = "", ip_address: str | None = None
) -> list[int]:
    """Give the batch's failed rows a new attempt: a new adjustment with a new idempotency key
    each (the failed one is final: Pomelo refused it, or it was closed as not applied). Rows
    that succeeded, or are still under way, are not touched. Returns the lines retried."""
    if not actor.has_perm(perms.RETRY_BULK_BATCH):
        raise BulkBatchError(gettext("You do not have permission to retry a batch's rows."))
    with transaction.atomic(durable=True):
        batch = _locked(batch_id)
        if batch.state != State.APPROVED:
            raise BulkBatchError(
                gettext(
                    "Batch #%(pk)s is %(state)s; only an approved batch's rows are retried.") % {
                    "pk": batch.pk,
                    "state": batch.get_state_display().lower(),
                }
            )
        rows = list(
            BulkRow.objects.select_for_update(of=("self",)).filter(batch=batch, valid=True)
            .filter(_retryable()).order_by("pk")
        )
        if not rows:
            raise BulkBatchError(gettext("Batch #%(pk)s has no failed rows to retry.") % {"pk": batch.pk})
        for row in rows:
            if row.adjustment_id is not None:
                row.previous_adjustments = [*row.previous_adjustments, row.adjustment_id]
            row.adjustment = None
            row.error = ""
        BulkRow.objects.bulk_update(rows, ["previous_adjustments", "adjustment", "error"], batch_size=500)
        lines = [row.line for row in rows]
        _audit(action=Action.BULK_ROWS_RETRIED, actor=actor, batch=batch, ip_address=ip_address,
               from_state=batch.state, to_state=batch.state, comment=(comment or "").strip(),
               data={"lines": lines[:1000], "count": len(lines)})
        _enqueue_processing(batch)
    return lines


def _retryable() -> Q:
    return Q(adjustment__isnull=True, error__gt="") | Q(adjustment__state__in=RETRYABLE_ADJUSTMENT_STATES)


def bulk_result_export_record(
    *, batch: BulkBatch, actor: AbstractBaseUser, ip_address: str | None = None
) -> None:
    if not actor.has_perm(perms.EXPORT_BULK_BATCH):
        raise BulkBatchError(gettext("You do not have permission to download a batch's result."))
    with transaction.atomic(durable=True):
        _audit(action=Action.BULK_RESULT_EXPORTED, actor=actor, batch=batch, ip_address=ip_address,
               data={"rows": batch.row_count})
