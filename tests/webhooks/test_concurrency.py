"""Deliveries racing each other on PostgreSQL: real threads, real connections, real row locks."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from rewards.models import LedgerEntry, RewardEvent
from rewards.selectors import ledger_mismatches
from tests.support.ledger import balances
from tests.support.webhooks import WebhookSender, notification_body
from webhooks.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _post_all(jobs, threads):
    barrier = threading.Barrier(threads)

    def run(chunk):
        sender = WebhookSender(Client())
        try:
            barrier.wait(timeout=10)
            return [sender.post(kind, body).status_code for kind, body in chunk]
        finally:
            connections.close_all()

    chunks = [jobs[i::threads] for i in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return [code for codes in pool.map(run, chunks) for code in codes]


def test_identical_deliveries_at_the_same_moment_apply_once():
    for attempt in range(5):
        body = notification_body("confirmation", f"ctx-race-{attempt}")
        codes = _post_all([("confirmation", body)] * 2, threads=2)
        assert codes == [200, 200]
    outcomes = list(Delivery.objects.values_list("outcome", flat=True))
    assert sorted(outcomes) == ["duplicate"] * 5 + ["processed"] * 5
    assert LedgerEntry.objects.count() == 5
    assert balances() == (Decimal("0"), Decimal("50.00"))


def test_many_threads_on_one_member_leave_correct_balances():
    rng = random.Random(7)
    jobs, expected_available, expected_pending = [], Decimal("0"), Decimal("0")
    for i in range(60):
        amount = Decimal(rng.randint(1, 10_000)) / 100
        tx = f"ctx-{i}"
        fate = i % 3  # 0: stays pending, 1: confirmed, 2: confirmed then cancelled
        jobs.append(("pending", notification_body("pending", tx, amount=str(amount))))
        if fate >= 1:
            jobs.append(("confirmation", notification_body("confirmation", tx, amount=str(amount))))
        if fate == 2:
            jobs.append(("cancellation", notification_body("cancellation", tx, amount=None)))
        expected_pending += amount if fate == 0 else 0
        expected_available += amount if fate == 1 else 0
    jobs += rng.sample(jobs, 30)  # duplicates
    rng.shuffle(jobs)

    codes = _post_all(jobs, threads=8)

    assert set(codes) == {200}
    assert balances() == (expected_pending, expected_available)
    assert RewardEvent.objects.count() == 60
    assert ledger_mismatches() == []
    assert Delivery.objects.filter(outcome="duplicate").count() == 30


def test_crossed_cancellations_between_two_members_neither_deadlock_nor_move_money():
    """Each cancellation names the other member. Reaching for the reward's own account after
    locking the sender's locked two accounts in opposite orders: a deadlock, answered 500.
    Now each is flagged, holding one account lock only."""
    sender = WebhookSender(Client())
    pairs = 20
    for i in range(pairs):
        for user in ("usr-a", "usr-b"):
            body = notification_body("confirmation", f"ctx-{user}-{i}", user=user, card=f"crd-{user}")
            assert sender.post("confirmation", body).status_code == 200
    jobs = []
    for i in range(pairs):
        for owner, other in (("usr-a", "usr-b"), ("usr-b", "usr-a")):
            jobs.append(("cancellation", notification_body(
                "cancellation", f"ctx-{owner}-{i}", user=other, card=f"crd-{other}", amount=None,
                key=f"crossed-{owner}-{i}",
            )))

    codes = _post_all(jobs, threads=2)  # one thread per direction, interleaved

    assert codes == [200] * len(jobs)
    crossed = Delivery.objects.filter(idempotency_key__startswith="crossed-")
    assert set(crossed.values_list("outcome", flat=True)) == {"flagged"}
    untouched = (Decimal("0"), Decimal(pairs * 10).quantize(Decimal("0.01")))
    assert balances("usr-a") == balances("usr-b") == untouched
    assert set(RewardEvent.objects.values_list("state", flat=True)) == {"confirmed"}
    assert ledger_mismatches() == []


def test_userless_cancellation_racing_its_pending_always_ends_cancelled():
    """No account to lock: the reward's unique constraint decides which one created it, and
    the loser is applied again on top of the winner."""
    rounds = 15
    for i in range(rounds):
        tx = f"ctx-race-{i}"
        jobs = [("cancellation", notification_body("cancellation", tx, user=None, card=None, amount=None)),
                ("pending", notification_body("pending", tx))]
        assert _post_all(jobs, threads=2) == [200, 200]
    assert set(RewardEvent.objects.values_list("state", flat=True)) == {"cancelled"}
    assert RewardEvent.objects.filter(account__isnull=True).count() == 0
    assert balances() == (Decimal("0"), Decimal("0"))
    assert ledger_mismatches() == []
    assert set(Delivery.objects.values_list("outcome", flat=True)) == {"processed"}
