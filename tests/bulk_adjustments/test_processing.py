"""Once approved, each row becomes its own adjustment with its own idempotency key and is sent
to the stand-in Pomelo; failed rows are retried without touching the others; the result file
lists every row with its outcome."""

import csv
import io
from decimal import Decimal

import pytest
from django.core import mail

from bulk_adjustments.models import BulkRow
from bulk_adjustments.selectors import batch_progress, batch_result_rows
from bulk_adjustments.services import (
    BulkBatchError,
    bulk_batch_approve,
    bulk_batch_process,
    bulk_rows_retry,
)
from rewards.models import Adjustment, Approval, AuditEntry, MakerNotification
from tests.bulk_adjustments.conftest import batch_made, csv_bytes

pytestmark = pytest.mark.django_db

CONTENT = csv_bytes(
    "usr-1,,points,credit,10.00,goodwill,outage",
    "usr-2,,points,credit,20.00,goodwill,outage",
    ",crd-3,points,debit,30.00,correction,double credit",
    "usr-4,,points,credit,40.00,goodwill,outage",
    "usr-9,,points,credit,1.00,goodwill,unknown member",
)


def approved_batch(people, content=CONTENT):
    batch = batch_made(people["agent"], content)
    return bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="campaign ok")


def test_each_row_becomes_its_own_adjustment_applied_once(people, pomelo_members, sandbox_pomelo):
    batch = approved_batch(people)
    outcome = bulk_batch_process(batch_id=batch.pk)
    assert outcome["succeeded"] == 4 and outcome["invalid"] == 1 and outcome["failed"] == 0

    rows = list(batch.rows.filter(valid=True).select_related("adjustment").order_by("line"))
    keys = {row.adjustment.idempotency_key for row in rows}
    assert len(keys) == 4
    for row in rows:
        adjustment = row.adjustment
        assert (adjustment.state, adjustment.amount, adjustment.maker) == (
            "succeeded", row.amount, people["agent"])
        assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
        # The batch's approval, recorded on each adjustment by the single-adjustment service.
        approval = Approval.objects.get(adjustment=adjustment)
        assert approval.approver == people["approver"] and "bulk batch" in approval.comment
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("110.00")
    assert sandbox_pomelo.balances("usr-3")["points"] == Decimal("70.00")

    # A second pass (a task run twice, a worker restarted) creates and sends nothing.
    requests_before = sum(e["requests"] for e in sandbox_pomelo.effects().values())
    bulk_batch_process(batch_id=batch.pk)
    assert Adjustment.objects.count() == 4
    assert sum(e["requests"] for e in sandbox_pomelo.effects().values()) == requests_before
    assert AuditEntry.objects.filter(action="bulk_batch_processed", data__batch=batch.pk).count() == 2


def test_a_batchs_rows_send_their_maker_no_notice_each(people, pomelo_members, sandbox_pomelo):
    """The maker hears about the batch, not about each of its (maybe 10,000) rows' approvals."""
    people["agent"].email = "agent@example.com"
    people["agent"].save(update_fields=["email"])
    batch = approved_batch(people)
    assert bulk_batch_process(batch_id=batch.pk)["succeeded"] == 4
    assert Adjustment.objects.filter(state="succeeded").count() == 4
    assert not MakerNotification.objects.exists()
    assert mail.outbox == []


def test_nothing_is_processed_before_approval(people, pomelo_members, sandbox_pomelo):
    batch = batch_made(people["agent"], CONTENT)
    assert bulk_batch_process(batch_id=batch.pk) == {}
    assert not Adjustment.objects.exists()


def test_failed_rows_are_retried_without_touching_the_ones_that_succeeded(
    people, pomelo_members, sandbox_pomelo
):
    batch = approved_batch(people)
    # Pomelo refuses the first call (line 2's), and someone opened a request that blocks line 5's.
    sandbox_pomelo.set_faults(fail_next=1, fail_status=400)
    from rewards.services.adjustments import adjustment_request

    blocker = adjustment_request(
        maker=people["agent2"], member=pomelo_members[3], card=pomelo_members[3].cards.first(),
        account_type="points", direction="credit", amount="1", reason_code="other",
        reason_text="meanwhile")
    outcome = bulk_batch_process(batch_id=batch.pk)
    assert (outcome["succeeded"], outcome["failed"], outcome["not_created"]) == (2, 1, 1)
    failed = BulkRow.objects.get(batch=batch, line=2)
    assert failed.adjustment.state == "failed"
    not_created = BulkRow.objects.get(batch=batch, line=5)
    assert not_created.adjustment is None and "already an open credit request" in not_created.error
    assert AuditEntry.objects.filter(action="bulk_row_not_created", data__line=5).exists()
    succeeded = {row.line: (row.adjustment_id, row.adjustment.idempotency_key)
                 for row in batch.rows.filter(adjustment__state="succeeded")}
    assert set(succeeded) == {3, 4}

    with pytest.raises(BulkBatchError, match="permission"):
        bulk_rows_retry(batch_id=batch.pk, actor=people["agent"])
    Adjustment.objects.filter(pk=blocker.pk)  # the blocker is cancelled by its maker
    from rewards.services.adjustments import adjustment_cancel

    adjustment_cancel(adjustment_id=blocker.pk, maker=people["agent2"])
    lines = bulk_rows_retry(batch_id=batch.pk, actor=people["approver"], comment="Pomelo was down")
    assert lines == [2, 5]
    outcome = bulk_batch_process(batch_id=batch.pk)
    assert (outcome["succeeded"], outcome["failed"], outcome["not_created"]) == (4, 0, 0)

    failed.refresh_from_db()
    assert failed.adjustment.state == "succeeded" and failed.previous_adjustments != []
    first_key = Adjustment.objects.get(pk=failed.previous_adjustments[0]).idempotency_key
    assert failed.adjustment.idempotency_key != first_key
    for line, (adjustment_id, key) in succeeded.items():
        row = BulkRow.objects.get(batch=batch, line=line)
        assert row.adjustment_id == adjustment_id and row.previous_adjustments == []
        assert sandbox_pomelo.effects(key)["count"] == 1 and sandbox_pomelo.effects(key)["requests"] == 1
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("110.00")  # applied once
    assert sandbox_pomelo.balances("usr-4")["points"] == Decimal("140.00")
    with pytest.raises(BulkBatchError, match="no failed rows"):
        bulk_rows_retry(batch_id=batch.pk, actor=people["approver"])


def test_result_csv_lists_every_row_with_its_outcome(people, pomelo_members, sandbox_pomelo):
    content = csv_bytes("usr-1,,points,credit,10.00,goodwill,outage",
                        "usr-2,,points,credit,20.00,goodwill,outage",
                        "usr-9,,points,credit,1.00,goodwill,unknown member")
    batch = approved_batch(people, content)
    sandbox_pomelo.set_faults(fail_next=1, fail_status=400)
    bulk_batch_process(batch_id=batch.pk)
    rows = list(batch_result_rows(batch=batch))
    parsed = list(csv.DictReader(io.StringIO("\n".join(",".join(r) for r in rows))))
    by_line = {row["line"]: row for row in parsed}
    assert list(by_line) == ["2", "3", "4"]
    assert by_line["2"]["outcome"] == "failed" and "Pomelo refused it" in by_line["2"]["error"]
    assert by_line["3"]["outcome"] == "succeeded" and by_line["3"]["idempotency_key"]
    assert by_line["3"]["adjustment_id"] == str(BulkRow.objects.get(batch=batch, line=3).adjustment_id)
    assert by_line["4"]["outcome"] == "invalid" and "usr-9" in by_line["4"]["error"]
    progress = batch_progress(batch=batch)
    assert progress.finished and progress.retryable == 1 and progress.valid == 2


def test_a_debit_whose_balance_fell_since_the_approval_is_not_created(people, pomelo_members, sandbox_pomelo):
    content = csv_bytes(",crd-3,points,debit,90.00,correction,double credit")
    batch = approved_batch(people, content)
    from rewards.services.adjustments import adjustment_approve, adjustment_request

    other = adjustment_request(
        maker=people["agent2"], member=pomelo_members[2], card=pomelo_members[2].cards.first(),
        account_type="points", direction="debit", amount="50", reason_code="other", reason_text="x")
    adjustment_approve(adjustment_id=other.pk, approver=people["approver2"], comment="ok",
                       enqueue_submission=False)
    from rewards.services.adjustments import adjustment_submit

    adjustment_submit(adjustment_id=other.pk)
    outcome = bulk_batch_process(batch_id=batch.pk)
    assert outcome["not_created"] == 1
    row = batch.rows.get()
    assert "exceeds the available points balance" in row.error
    assert not Adjustment.objects.filter(bulk_row=row).exists()
