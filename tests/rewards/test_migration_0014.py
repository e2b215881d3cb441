"""Migration 0014 chains the audit and ledger entries written before the chains existed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from rewards.chain import AUDIT_FIELDS, GENESIS, LEDGER_FIELDS, audit_hash, ledger_hash
from rewards.models import AuditEntry, ChainHead, LedgerEntry
from rewards.services.chain import chains_check
from tests.support.migrations import database_at, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("rewards", "0013_audit_and_ledger_chains")]
AFTER = [("rewards", "0014_chain_existing_entries")]



@pytest.fixture
def old_database():
    with database_at(BEFORE) as apps:
        yield apps


def test_existing_entries_are_chained_in_id_order(old_database):
    apps = old_database
    Member = apps.get_model("accounts", "Member")
    RewardAccount = apps.get_model("accounts", "RewardAccount")
    RewardEvent = apps.get_model("rewards", "RewardEvent")
    OldLedgerEntry = apps.get_model("rewards", "LedgerEntry")
    OldAuditEntry = apps.get_model("rewards", "AuditEntry")
    OldChainHead = apps.get_model("rewards", "ChainHead")
    OldChainHead.objects.all().delete()  # as before the chains: no head yet
    start = timezone.now() - timedelta(days=30)
    accounts = []
    for n in (1, 2):
        member = Member.objects.create(pomelo_user_id=f"usr-{n}")
        accounts.append(RewardAccount.objects.create(member=member, account_type="points"))
    # Interleaved accounts, and times out of id order: chains follow ids, not times.
    for i in range(7):
        account = accounts[i % 2]
        event = RewardEvent.objects.create(transaction_id=f"ctx-{i}", account_type="points",
                                           account=account, state="confirmed",
                                           amount=Decimal("1.5") * (i + 1))
        OldLedgerEntry.objects.create(account=account, bucket="available",
                                      amount=Decimal("1.5") * (i + 1), reward_event=event,
                                      description=f"confirmation ctx-{i}",
                                      created_at=start - timedelta(minutes=i))
    for i in range(5):
        OldAuditEntry.objects.create(action="csv_exported", actor_name="system",
                                     ip_address=f"::FFFF:10.0.0.{i}", comment=f"old {i}",
                                     data={"i": i, "nested": {"b": [1, 2], "a": None}},
                                     created_at=start + timedelta(hours=i))
    assert not OldAuditEntry.objects.exclude(entry_hash="").exists()

    migrate_to(AFTER)

    prev = GENESIS
    audit = list(AuditEntry.objects.order_by("id"))
    assert len(audit) >= 5
    for entry in audit:
        values = {name: getattr(entry, name) for name in AUDIT_FIELDS}
        assert entry.prev_hash == prev
        assert entry.entry_hash == audit_hash(prev_hash=prev, values=values)
        prev = entry.entry_hash
    head = ChainHead.objects.get(name=ChainHead.AUDIT)
    assert (head.entry_id, head.entry_hash, head.length) == (audit[-1].pk, prev, len(audit))
    for account in accounts:
        prev = GENESIS
        entries = list(LedgerEntry.objects.filter(account_id=account.pk).order_by("id"))
        assert len(entries) in (3, 4)
        for entry in entries:
            assert entry.prev_hash == prev
            values = {name: getattr(entry, name) for name in LEDGER_FIELDS}
            assert entry.entry_hash == ledger_hash(prev_hash=prev, values=values)
            prev = entry.entry_hash
    report = chains_check()
    assert report.sound, report.problems
    assert (report.ledger_entries, report.ledger_accounts) == (7, 2)


def test_the_migration_leaves_the_append_only_triggers_on(old_database):
    migrate_to(AFTER)
    if connection.vendor != "postgresql":
        pytest.skip("the triggers exist on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgrelid::regclass::text, tgenabled FROM pg_trigger "
            "WHERE tgname LIKE '%%_append_only' ORDER BY 1"
        )
        assert cursor.fetchall() == [
            ("rewards_auditentry", "O"), ("rewards_chainanchor", "O"),
            ("rewards_chainanchorhead", "O"), ("rewards_ledgerentry", "O"),
        ]
