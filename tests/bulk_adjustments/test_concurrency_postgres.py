"""The worker sends a batch's adjustments several at a time, each once."""

from decimal import Decimal

import pytest

from bulk_adjustments.services import bulk_batch_approve, bulk_batch_process
from rewards.models import Adjustment
from tests.bulk_adjustments.conftest import batch_made, csv_bytes, member_fed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_senders_apply_every_row_once(people, webhook, sandbox_pomelo, settings):
    settings.BULK_ADJUSTMENT_SUBMIT_CONCURRENCY = 4
    rows = []
    for n in range(1, 25):
        member_fed(webhook, n)
        sandbox_pomelo.add_member(f"usr-{n}", [f"crd-{n}"], balances={"points": "100"})
        rows.append(f"usr-{n},,points,{'debit' if n % 3 == 0 else 'credit'},{n}.00,goodwill,campaign")
    batch = batch_made(people["agent"], csv_bytes(*rows))
    bulk_batch_approve(batch_id=batch.pk, approver=people["approver"], comment="ok")
    # The approval queued the batch's processing (run in-process after its commit).
    assert Adjustment.objects.filter(state="succeeded").count() == 24
    outcome = bulk_batch_process(batch_id=batch.pk)
    assert outcome["succeeded"] == 24
    for adjustment in Adjustment.objects.all():
        assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.balances("usr-3")["points"] == Decimal("97.00")
    assert sandbox_pomelo.balances("usr-4")["points"] == Decimal("104.00")
