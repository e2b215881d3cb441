"""The inbox worker on PostgreSQL: several workers at once, and waking on NOTIFY."""

import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from rewards.models import LedgerEntry, RewardEvent
from rewards.selectors import ledger_mismatches
from rewards.services.chain import chains_check
from tests.support.ledger import balances
from tests.support.webhooks import WebhookSender, notification_body
from webhooks.inbox_worker import InboxWaker, inbox_work
from webhooks.models import Delivery

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def stored(settings):
    settings.WEBHOOK_APPLY_INLINE = False
    settings.WEBHOOK_APPLY_RETRY_BASE_SECONDS = 0  # a failed attempt is due again at once


def _in_threads(count: int, target) -> list:
    results, errors = [None] * count, []

    def run(index):
        try:
            results[index] = target(index)
        except Exception as exc:  # surfaced below: a thread's failure fails the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def test_several_workers_apply_each_delivery_once(stored):
    rng = random.Random(11)
    sender = WebhookSender(Client())
    jobs, pending, available = [], {}, {}
    for i in range(240):
        user, tx = f"usr-{i % 6}", f"ctx-{i}"
        amount = Decimal(rng.randint(1, 10_000)) / 100
        fate = i % 3  # 0: stays pending, 1: confirmed, 2: confirmed then cancelled (userless)
        jobs.append(("pending", notification_body("pending", tx, user=user, card=f"crd-{user}",
                                                  amount=str(amount))))
        if fate >= 1:
            jobs.append(("confirmation", notification_body(
                "confirmation", tx, user=user, card=f"crd-{user}", amount=str(amount))))
        if fate == 2:
            jobs.append(("cancellation", notification_body(
                "cancellation", tx, user=None, card=None, amount=None)))
        pending[user] = pending.get(user, Decimal("0")) + (amount if fate == 0 else 0)
        available[user] = available.get(user, Decimal("0")) + (amount if fate == 1 else 0)
    jobs += rng.sample(jobs, 40)  # copies: duplicates at the intake
    rng.shuffle(jobs)
    for kind, body in jobs:
        assert sender.post(kind, body).status_code == 200
    assert Delivery.objects.filter(outcome="received").count() == len(jobs) - 40

    stop = threading.Event()
    claimed = _in_threads(4, lambda _: inbox_work(stop=stop, batch_size=20, poll_seconds=0.05,
                                                 until_empty=True))

    assert sum(claimed) >= len(jobs) - 40
    assert not Delivery.objects.filter(outcome__in=["received", "failed"]).exists()
    assert Delivery.objects.filter(outcome="processed").count() == len(jobs) - 40
    for user in pending:
        assert balances(user) == (pending[user], available[user])
    assert RewardEvent.objects.count() == 240
    # Nothing applied twice: each reward's entries add up to what its state holds.
    sums = {}
    for event_id, bucket, amount in LedgerEntry.objects.values_list("reward_event", "bucket", "amount"):
        sums[(event_id, bucket)] = sums.get((event_id, bucket), Decimal("0")) + amount
    for event in RewardEvent.objects.all():
        held = {"pending": event.amount if event.state == "pending" else Decimal("0"),
                "available": event.amount if event.state == "confirmed" else Decimal("0")}
        for bucket, amount in held.items():
            assert sums.get((event.pk, bucket), Decimal("0")) == amount, (event, bucket)
    assert ledger_mismatches() == []
    report = chains_check()
    assert report.sound, report.problems


def test_the_waker_hears_an_insert_from_another_connection(stored):
    waker = InboxWaker(threading.Event())
    try:
        assert waker.wait(0.2) is False  # listening now; nothing arrived
        WebhookSender(Client()).post("pending", notification_body("pending", "ctx-1"))
        assert waker.wait(30) is True
    finally:
        waker.close()


def test_an_idle_worker_wakes_on_notify_long_before_its_poll(stored):
    stop = threading.Event()
    worker = threading.Thread(
        target=lambda: (inbox_work(stop=stop, batch_size=50, poll_seconds=600),
                        connections.close_all()),
    )
    worker.start()
    try:
        time.sleep(0.5)  # the worker found nothing; the poll is ten minutes from now
        WebhookSender(Client()).post("confirmation", notification_body("confirmation", "ctx-1"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and balances() != (Decimal("0"), Decimal("10.00")):
            time.sleep(0.05)
        assert balances() == (Decimal("0"), Decimal("10.00"))
        assert Delivery.objects.get().outcome == "processed"
    finally:
        stop.set()
        worker.join(timeout=30)
