from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from rewards.append_only import AppendOnlyError
from rewards.models import LedgerEntry, NotificationKind
from rewards.notifications import RewardNotification
from rewards.services import reward_notification_apply

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry():
    reward_notification_apply(notification=RewardNotification(
        kind=NotificationKind.CONFIRMATION, event_id="e", idempotency_key="k", user_id="usr-1",
        transaction_id="ctx-1", account_type="points", amount=Decimal("5.00"),
    ))
    return LedgerEntry.objects.get()


def test_orm_refuses_to_change_or_delete_ledger_entries(entry):
    entry.amount = Decimal("500.00")
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().amount == Decimal("5.00")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE rewards_ledgerentry SET amount = 1 WHERE id = %s",
     "DELETE FROM rewards_ledgerentry WHERE id = %s"],
)
def test_database_trigger_refuses_raw_update_and_delete(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert LedgerEntry.objects.get().amount == Decimal("5.00")
