"""Every row is validated before anything is created; the batch is one approval request under
the single adjustment's rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bulk_adjustments.models import BulkApproval, BulkBatch, BulkRow
from bulk_adjustments.services import (
    BulkBatchError,
    bulk_batch_approve,
    bulk_batch_cancel,
    bulk_batch_create,
    bulk_batch_expire_overdue,
    bulk_batch_reject,
    bulk_file_preview,
)
from rewards.models import Adjustment, AuditEntry
from tests.bulk_adjustments.conftest import batch_made, csv_bytes

pytestmark = pytest.mark.django_db

MIXED = csv_bytes(
    "usr-1,,points,credit,10.00,goodwill,outage",        # 2 valid
    ",crd-2,points,debit,30,correction,double credit",    # 3 valid, by card
    "usr-3,crd-3,cashback,credit,5.50,goodwill,outage",   # 4 valid
    "usr-9,,points,credit,1,goodwill,who",                # 5 unknown member
    "usr-4,crd-5,points,credit,1,goodwill,wrong card",    # 6 card of another member
    "usr-4,,points,debit,100.01,correction,too much",     # 7 above the balance
    "usr-5,,stars,credit,1,goodwill,x",                   # 8 unknown account type
    "usr-5,,miles,credit,1.001,goodwill,x",              # 9 three decimals
    "usr-5,,points,sideways,1,goodwill,x",                # 10 direction
    "usr-5,,points,credit,0,nope,",                       # 11 amount, reason code, reason text
    ",crd-1,points,credit,2,goodwill,same member",        # 12 usr-1 again by card
)


def test_preview_shows_valid_rows_totals_and_each_invalid_row_and_keeps_nothing(people, members):
    preview = bulk_file_preview(maker=people["agent"], file_name="mixed.csv", content=MIXED)
    assert [r.line for r in preview.valid_rows] == [2, 3, 4]
    errors = {r.line: r.error for r in preview.invalid_rows}
    assert "No member with Pomelo user id 'usr-9'" in errors[5]
    assert "Card crd-5 does not belong to member usr-4" in errors[6]
    assert "exceeds the available points balance of 100.00" in errors[7]
    assert "Unknown account type" in errors[8]
    assert "at most 2 decimals" in errors[9]
    assert "Direction must be credit or debit" in errors[10]
    assert "greater than zero" in errors[11] and "reason code 'nope'" in errors[11]
    assert "reason_text" in errors[11]
    assert "Line 2 already has a credit of points" in errors[12]
    assert preview.totals == {
        "cashback": {"credit": {"count": 1, "amount": "5.50"}},
        "points": {"credit": {"count": 1, "amount": "10.00"}, "debit": {"count": 1, "amount": "30.00"}},
    }
    assert not BulkBatch.objects.exists() and not BulkRow.objects.exists()
    assert not Adjustment.objects.exists()


def test_confirm_keeps_every_line_and_requests_approval(people, members):
    batch = batch_made(people["agent"], MIXED)
    assert (batch.state, batch.row_count, batch.valid_count, batch.approvals_required) == (
        "pending_approval", 11, 3, 1)
    rows = {row.line: row for row in batch.rows.all()}
    assert rows[3].member == members[1] and rows[3].card.pomelo_card_id == "crd-2"
    assert rows[3].amount == Decimal("30.00") and rows[3].valid
    assert not rows[5].valid and "usr-9" in rows[5].error
    assert not Adjustment.objects.exists()  # nothing moves before the approval
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BULK_BATCH_REQUESTED)
    assert entry.data["batch"] == batch.pk and entry.actor == people["agent"]
    assert entry.data["file_sha256"] == batch.file_sha256


def test_confirm_refuses_when_the_checks_changed_since_the_preview(people, members, webhook):
    content = csv_bytes("usr-1,,points,debit,100.00,correction,close account")
    preview = bulk_file_preview(maker=people["agent"], file_name="f.csv", content=content)
    assert preview.invalid_rows == []
    from rewards.services.adjustments import adjustment_request

    adjustment_request(maker=people["agent2"], member=members[0], card=members[0].cards.first(),
                       account_type="points", direction="debit", amount="1", reason_code="other",
                       reason_text="meanwhile")
    with pytest.raises(BulkBatchError, match="changed since the preview"):
        bulk_batch_create(maker=people["agent"], file_name="f.csv", content=content,
                          previewed_digest=preview.digest)
    assert not BulkBatch.objects.exists()


def test_no_valid_row_no_batch(people, members):
    content = csv_bytes("usr-9,,points,credit,1,goodwill,x")
    preview = bulk_file_preview(maker=people["agent"], file_name="f.csv", content=content)
    with pytest.raises(BulkBatchError, match="No row is valid"):
        bulk_batch_create(maker=people["agent"], file_name="f.csv", content=content,
                          previewed_digest=preview.digest)


def test_maker_cannot_approve_comment_required_and_agents_cannot_approve(people, members):
    batch = batch_made(people["lead"], MIXED)
    with pytest.raises(BulkBatchError, match="you cannot approve it"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["lead"], comment="mine")
    with pytest.raises(BulkBatchError, match="permission"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["agent2"], comment="ok")
    with pytest.raises(BulkBatchError, match="comment is required"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="  ")
    assert not BulkApproval.objects.exists()
    batch = bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="checked")
    assert batch.state == "approved" and batch.approved_at is not None
    entry = AuditEntry.objects.get(action=AuditEntry.Action.BULK_BATCH_APPROVED)
    assert (entry.from_state, entry.to_state, entry.comment) == ("pending_approval", "approved", "checked")
    with pytest.raises(BulkBatchError, match="only a batch pending approval"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["approver2"], comment="late")


def test_threshold_applies_to_the_batch_total_per_account_type(people, members, settings):
    settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE = {"points": Decimal("100"), "cashback": Decimal("500")}
    # Each row is below the threshold; their total (credits and debits) is above it.
    content = csv_bytes("usr-1,,points,credit,60,goodwill,a", "usr-2,,points,debit,50,correction,b",
                        "usr-3,,cashback,credit,400,goodwill,c")
    batch = batch_made(people["agent"], content)
    assert batch.approvals_required == 2
    batch = bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="one")
    assert batch.state == "pending_approval"
    with pytest.raises(BulkBatchError, match="already approved"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="again")
    batch = bulk_batch_approve(batch_id=batch.pk, approver=people["approver2"], comment="two")
    assert batch.state == "approved"


def test_below_the_threshold_one_approval(people, members, settings):
    settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE = {"points": Decimal("100")}
    batch = batch_made(people["agent"], csv_bytes("usr-1,,points,credit,60,goodwill,a",
                                                  "usr-2,,points,credit,40,goodwill,b"))
    assert batch.approvals_required == 1


def test_expired_batch_cannot_be_approved(people, members):
    batch = batch_made(people["agent"], MIXED)
    BulkBatch.objects.filter(pk=batch.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(BulkBatchError, match="expired before it was approved"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="ok")
    batch.refresh_from_db()
    assert batch.state == "expired"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.BULK_BATCH_EXPIRED).count() == 1


def test_the_sweep_expires_overdue_batches(people, members):
    batch = batch_made(people["agent"], MIXED)
    assert bulk_batch_expire_overdue(now=batch.expires_at - timedelta(seconds=1)) == 0
    assert bulk_batch_expire_overdue(now=batch.expires_at) == 1
    batch.refresh_from_db()
    assert batch.state == "expired"


def test_only_the_maker_cancels_and_approvers_reject_with_a_comment(people, members):
    batch = batch_made(people["agent"], MIXED)
    with pytest.raises(BulkBatchError, match="Only the person who uploaded"):
        bulk_batch_cancel(batch_id=batch.pk, maker=people["agent2"])
    batch = bulk_batch_cancel(batch_id=batch.pk, maker=people["agent"], comment="wrong file")
    assert batch.state == "cancelled"
    with pytest.raises(BulkBatchError, match="only a batch pending approval"):
        bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="ok")

    other = batch_made(people["agent"], MIXED, name="again.csv")
    with pytest.raises(BulkBatchError, match="comment is required"):
        bulk_batch_reject(batch_id=other.pk, approver=people["approver"], comment="")
    other = bulk_batch_reject(batch_id=other.pk, approver=people["approver"], comment="not agreed")
    assert other.state == "rejected"
    assert not Adjustment.objects.exists()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"bulk_batch_cancelled", "bulk_batch_rejected"} <= actions


def test_the_same_file_is_not_queued_twice_while_it_waits(people, members):
    batch = batch_made(people["agent"], MIXED)
    with pytest.raises(BulkBatchError, match=f"already waiting for approval as batch #{batch.pk}"):
        batch_made(people["agent"], MIXED)
    assert BulkBatch.objects.count() == 1
    bulk_batch_cancel(batch_id=batch.pk, maker=people["agent"])
    assert batch_made(people["agent"], MIXED).pk != batch.pk  # withdrawn, it may be sent again
