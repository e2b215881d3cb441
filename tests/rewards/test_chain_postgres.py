"""Chains written by concurrent writers verify, on PostgreSQL (row locks, real concurrency)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction

from accounts.models import Member
from accounts.services import reward_account_lock
from rewards.audit import audit_record
from rewards.models import AuditEntry, ChainHead, LedgerEntry
from rewards.services.chain import chain_anchor_take, chains_check
from rewards.services.ledger import ledger_post
from tests.support.chain_tampering import tamper
from tests.support.webhooks import notification_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WRITERS = 8
ROUNDS = 15


class _Rollback(Exception):
    pass


def _in_parallel(work):
    barrier = threading.Barrier(WRITERS)

    def run(worker: int):
        try:
            barrier.wait(timeout=10)
            for round_ in range(ROUNDS):
                work(worker, round_)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(run, range(WRITERS)))  # re-raises a worker's exception


def test_audit_chain_written_by_concurrent_writers_verifies():
    def work(worker, round_):
        try:
            with transaction.atomic(durable=True):
                audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None,
                             comment=f"w{worker} r{round_}", data={"w": worker, "r": round_})
                if round_ % 3 == 0:  # two entries in one transaction
                    audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None,
                                 comment=f"w{worker} r{round_} second")
                if round_ % 5 == 4:  # and some roll back, leaving gaps in the ids
                    raise _Rollback
        except _Rollback:
            pass

    _in_parallel(work)

    kept = WRITERS * sum(1 + (r % 3 == 0) for r in range(ROUNDS) if r % 5 != 4)
    assert AuditEntry.objects.count() == kept
    report = chains_check()
    assert report.sound, report.problems
    assert report.audit_entries == kept
    head = ChainHead.objects.get(name=ChainHead.AUDIT)
    assert head.length == kept
    assert head.entry_id == AuditEntry.objects.order_by("-id").first().pk
    # Every entry names a distinct predecessor: nobody linked to a head another writer had
    # already moved.
    assert AuditEntry.objects.values("prev_hash").distinct().count() == kept


def test_ledger_chains_written_by_concurrent_posts_and_audited_changes_verify(webhook):
    for user in ("usr-1", "usr-2"):
        webhook.post("confirmation", notification_body("confirmation", f"seed-{user}",
                                                       user=user, card=f"crd-{user}"))
    members = list(Member.objects.order_by("pk"))

    def work(worker, round_):
        member = members[(worker + round_) % 2]
        with transaction.atomic(durable=True):
            if worker % 2:
                # As an adjustment's outcome: audited first, then the account locked.
                audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None,
                             comment=f"w{worker} r{round_}")
            account = reward_account_lock(member=member, account_type="points")
            ledger_post(account=account, bucket=LedgerEntry.Bucket.AVAILABLE,
                        amount=Decimal("1.25"), description=f"w{worker} r{round_}",
                        reward_event=account.events.first())
            account.save(update_fields=["pending_balance", "available_balance", "updated_at"])

    failures = []

    def take_anchors():
        try:
            for n in range(5):
                chain_anchor_take(note=f"during {n}")
        except Exception as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    anchor_taker = threading.Thread(target=take_anchors)
    anchor_taker.start()
    _in_parallel(work)
    anchor_taker.join()
    assert failures == []

    report = chains_check()
    assert report.sound, report.problems
    assert report.ledger_entries == 2 + WRITERS * ROUNDS
    assert report.ledger_accounts == 2
    assert report.anchors_checked == 5


def test_a_concurrently_written_chain_still_shows_a_tampered_entry():
    def work(worker, round_):
        audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None, comment=f"{worker}")

    _in_parallel(work)
    victim = AuditEntry.objects.order_by("id")[WRITERS * ROUNDS // 2]
    with transaction.atomic():
        tamper("UPDATE rewards_auditentry SET actor_name = 'someone' WHERE id = %s", [victim.pk])
    problems = chains_check().problems
    assert [(p.chain, p.entry_id, p.what) for p in problems] == [
        ("audit", victim.pk, "entry hash")]


@pytest.mark.parametrize("table", ["rewards_auditentry", "rewards_ledgerentry"])
@pytest.mark.parametrize("change", ["update", "delete", "reorder"])
def test_with_triggers_disabled_by_a_superuser_each_change_is_found(webhook, table, change):
    for n in range(4):
        webhook.post("confirmation", notification_body("confirmation", f"ctx-{n}"))
        audit_record(action=AuditEntry.Action.CSV_EXPORTED, actor=None, comment=f"{n}")
    model = AuditEntry if table == "rewards_auditentry" else LedgerEntry
    first, second = model.objects.order_by("id").values_list("id", flat=True)[1:3]
    statements = {
        "update": [(f"UPDATE {table} SET created_at = created_at + interval '1 second' "  # noqa: S608
                    "WHERE id = %s", [first])],
        "delete": [(f"DELETE FROM {table} WHERE id = %s", [first])],  # noqa: S608
        "reorder": [(f"UPDATE {table} SET id = %s WHERE id = %s", params)  # noqa: S608
                    for params in ([-1, first], [first, second], [second, -1])],
    }[change]
    # The application's own role cannot: the trigger refuses.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(*statements[0])
    # The table's owner can, by switching the triggers off.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
    problems = chains_check().problems
    assert problems, f"{change} on {table} went unnoticed"
    assert problems[0].entry_id in {first, second}
