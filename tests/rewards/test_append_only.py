from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import TransactionTestCase

from kernel.append_only import AppendOnlyError
from rewards.audit import audit_record
from rewards.models import AuditEntry, LedgerEntry, NotificationKind
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


@pytest.fixture
def audit_entry(entry):
    return audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None, comment="kept")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE rewards_ledgerentry",
        "TRUNCATE rewards_auditentry",
        "TRUNCATE rewards_ledgerentry, rewards_auditentry RESTART IDENTITY",
        # Reaching the ledger and the audit trail from the tables they reference.
        "TRUNCATE accounts_rewardaccount CASCADE",
        "TRUNCATE accounts_member CASCADE",
    ],
)
def test_database_trigger_refuses_raw_truncate(entry, audit_entry, sql):
    with connection.cursor() as cursor:
        # The rows above were inserted in this test's transaction: run their deferred foreign
        # key checks now, or PostgreSQL refuses TRUNCATE for that reason before our trigger.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert LedgerEntry.objects.get().amount == Decimal("5.00")
    assert AuditEntry.objects.get().comment == "kept"


class _FlushingTestCase(TransactionTestCase):
    databases = {"default"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_flush_between_tests_gets_past_the_truncate_triggers_and_restores_them(entry):
    # What runs after every transactional test (see tests/append_only_flush.py).
    _FlushingTestCase(methodName="__init__")._fixture_teardown()

    assert not LedgerEntry.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgenabled FROM pg_trigger "
            "WHERE tgname LIKE '%%_refuse_truncate' ORDER BY 1"
        )
        assert cursor.fetchall() == [("rewards_auditentry", "O"), ("rewards_ledgerentry", "O")]
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE rewards_ledgerentry")
