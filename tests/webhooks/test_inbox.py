"""The inbox: one INSERT per delivery at the intake, batches applied by the worker."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rewards.models import LedgerEntry, RewardEvent
from rewards.selectors import ledger_mismatches
from tests.support.ledger import balances
from tests.support.webhooks import notification_body
from webhooks.claims import delivery_row_insert
from webhooks.inbox import inbox_batch_apply, inbox_lag
from webhooks.models import Delivery

Outcome = Delivery.Outcome
HUGE = "9000000000000000.00"


@pytest.fixture
def stored(settings):
    """Deliveries are only stored; the test applies them."""
    settings.WEBHOOK_APPLY_INLINE = False


@pytest.mark.django_db(transaction=True)
def test_the_common_path_is_one_insert(webhook, stored):
    """Autocommit, as in production: no transaction, no read, no savepoint; the INSERT only."""
    body = notification_body("pending", "ctx-1")
    with CaptureQueriesContext(connection) as queries:
        response = webhook.post("pending", body)
    assert response.status_code == 200
    assert response.json() == {"status": "received", "delivery_id": Delivery.objects.get().pk}
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"], queries.captured_queries
    assert "webhooks_delivery" in queries.captured_queries[0]["sql"]
    assert not RewardEvent.objects.exists()

    with CaptureQueriesContext(connection) as queries:
        again = webhook.post("pending", body)
    assert again.json() == {"status": "duplicate", "delivery_id": again.json()["delivery_id"]}
    # A copy: the claim's INSERT stores nothing (no error raised, nothing rolled back), the
    # claimer's body is read to compare, and the copy is kept.
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT", "SELECT", "INSERT"]
    assert Delivery.objects.get(pk=again.json()["delivery_id"]).outcome == Outcome.DUPLICATE


@pytest.mark.django_db
def test_a_copy_stored_inside_a_transaction_leaves_it_usable(stored):
    """The claim never raises, so a caller's transaction needs no savepoint to survive a copy."""
    def delivery(body: bytes) -> Delivery:
        return Delivery(kind="pending", endpoint="/x", body=body, idempotency_key="key-1")

    with transaction.atomic():
        assert delivery_row_insert(first := delivery(b"one")) is True
        assert delivery_row_insert(copy := delivery(b"one")) is False
        assert copy.pk is None
        assert Delivery.objects.count() == 1
    assert Delivery.objects.get().pk == first.pk


@pytest.mark.django_db
def test_stored_deliveries_wait_for_the_worker_and_copies_are_duplicates(webhook, stored):
    first = notification_body("pending", "ctx-1")
    for _ in range(3):
        webhook.post("pending", first)
    webhook.post("confirmation", notification_body("confirmation", "ctx-1"))
    assert sorted(Delivery.objects.values_list("outcome", flat=True)) == [
        "duplicate", "duplicate", "received", "received"]
    assert balances() == (Decimal("0"), Decimal("0"))

    report = inbox_batch_apply()
    assert (report.claimed, report.processed, report.one_by_one) == (2, 2, False)
    assert balances() == (Decimal("0"), Decimal("10.00"))
    assert LedgerEntry.objects.count() == 3
    assert inbox_batch_apply().claimed == 0
    # Copies arriving after the apply are duplicates too, and change nothing.
    assert webhook.post("pending", first).json()["status"] == "duplicate"
    assert inbox_batch_apply().claimed == 0
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_batches_take_the_oldest_first(webhook, stored):
    for i in range(5):
        webhook.post("pending", notification_body("pending", f"ctx-{i}"))
    Delivery.objects.filter(idempotency_key="ctx-4-points-pending").update(
        received_at=timezone.now() - timedelta(minutes=5))
    assert inbox_batch_apply(limit=2).claimed == 2
    applied = set(
        Delivery.objects.filter(outcome=Outcome.PROCESSED).values_list("idempotency_key", flat=True)
    )
    assert applied == {"ctx-4-points-pending", "ctx-0-points-pending"}


@pytest.mark.django_db
def test_a_poisoned_notification_does_not_hold_up_its_batch(webhook, stored, settings):
    settings.WEBHOOK_APPLY_MAX_ATTEMPTS = 2
    webhook.post("confirmation", notification_body("confirmation", "ctx-a", amount=HUGE))
    poisoned = webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount=HUGE))
    webhook.post("pending", notification_body("pending", "ctx-c"))
    webhook.post("pending", {"event_id": "loyalty-pending", "idempotency_key": "unreadable"})

    report = inbox_batch_apply()
    assert report.one_by_one and report.claimed == 4
    assert (report.processed, report.flagged, report.retrying) == (2, 1, 1)
    assert balances() == (Decimal("10.00"), Decimal(HUGE))
    delivery = Delivery.objects.get(pk=poisoned.json()["delivery_id"])
    assert delivery.outcome == Outcome.RECEIVED and delivery.retry_at > timezone.now()
    assert "LedgerOverflow" in delivery.detail and delivery.attempts == 1

    # Due again: the next attempt is its last, and staff see it failed.
    Delivery.objects.filter(pk=delivery.pk).update(retry_at=timezone.now())
    assert inbox_batch_apply().failed == 1
    delivery.refresh_from_db()
    assert delivery.outcome == Outcome.FAILED and "after 2 attempts" in delivery.review
    assert not RewardEvent.objects.filter(transaction_id="ctx-b").exists()
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_flags_found_in_a_batch_create_nothing(webhook, stored):
    webhook.post("pending", notification_body("pending", "ctx-1", user="usr-1", card="crd-1"))
    webhook.post("pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-1"))
    webhook.post("confirmation", notification_body("confirmation", "ctx-1", user="usr-3", card="crd-3"))
    report = inbox_batch_apply()
    assert (report.processed, report.flagged, report.one_by_one) == (1, 2, False)
    flagged = Delivery.objects.filter(outcome=Outcome.FLAGGED).order_by("pk")
    reviews = list(flagged.values_list("review", flat=True))
    assert reviews == ["card crd-1 belongs to member usr-1, not usr-2",
                       "reward ctx-1 (points) belongs to member usr-1, not usr-3"]
    from accounts.models import Card, Member

    assert list(Member.objects.values_list("pomelo_user_id", flat=True)) == ["usr-1"]
    assert list(Card.objects.values_list("pomelo_card_id", flat=True)) == ["crd-1"]


@pytest.mark.django_db(transaction=True)
def test_worker_command_drains_the_inbox(webhook, stored):
    for i in range(7):
        webhook.post("confirmation", notification_body("confirmation", f"ctx-{i}"))
    call_command("inbox_worker", "--until-empty", "--batch-size", "3")
    assert balances() == (Decimal("0"), Decimal("70.00"))
    assert inbox_lag().waiting == 0


@pytest.mark.django_db
def test_inbox_status_exits_non_zero_past_the_lag_setting(webhook, stored, settings, capsys):
    settings.WEBHOOK_INBOX_MAX_LAG_SECONDS = 60
    call_command("inbox_status")
    assert "waiting=0" in capsys.readouterr().out

    webhook.post("pending", notification_body("pending", "ctx-1"))
    webhook.post("pending", notification_body("pending", "ctx-2"))
    Delivery.objects.filter(idempotency_key="ctx-1-points-pending").update(
        received_at=timezone.now() - timedelta(seconds=30))
    call_command("inbox_status")  # 30 s old: within the setting
    assert "waiting=2" in capsys.readouterr().out

    Delivery.objects.filter(idempotency_key="ctx-1-points-pending").update(
        received_at=timezone.now() - timedelta(seconds=90))
    with pytest.raises(CommandError) as raised:
        call_command("inbox_status")
    assert raised.value.returncode == 1 and "exceeds 60 s" in str(raised.value)
    lag = inbox_lag()
    assert lag.waiting == 2 and 89 <= lag.oldest_age_seconds() <= 120

    inbox_batch_apply()
    call_command("inbox_status")
    assert "waiting=0" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_inbox_list_shows_the_backlog(webhook, stored, admin_client):
    from django.urls import reverse

    webhook.post("pending", notification_body("pending", "ctx-1"))
    Delivery.objects.update(received_at=timezone.now() - timedelta(minutes=3))
    page = admin_client.get(reverse("admin:webhooks_delivery_changelist")).content.decode()
    assert "Waiting to be applied: <strong>1</strong>" in page
    assert "oldest received 3\xa0minutes ago" in page
    inbox_batch_apply()
    page = admin_client.get(reverse("admin:webhooks_delivery_changelist")).content.decode()
    assert "Waiting to be applied: <strong>0</strong>" in page


@pytest.mark.django_db
def test_prune_delivery_bodies_archives_then_empties_only_old_applied_ones(webhook, tmp_path):
    import base64
    import gzip
    import json

    applied = notification_body("confirmation", "ctx-1")
    webhook.post("confirmation", applied)
    webhook.post("confirmation", applied)  # a duplicate
    webhook.post("pending", {"event_id": "loyalty-pending", "idempotency_key": "flagged-1"})
    webhook.post("pending", notification_body("pending", "ctx-recent"))
    old = timezone.now() - timedelta(days=91)
    Delivery.objects.exclude(idempotency_key="ctx-recent-points-pending").update(processed_at=old)

    archive = tmp_path / "bodies.jsonl.gz"
    call_command("prune_delivery_bodies", "--archive", str(archive))

    lines = [json.loads(line) for line in gzip.open(archive).read().splitlines()]
    assert sorted(row["outcome"] for row in lines) == ["duplicate", "processed"]
    assert {base64.b64decode(row["body"]) for row in lines} == {json.dumps(applied).encode()}
    emptied = Delivery.objects.filter(body_pruned_at__isnull=False)
    assert sorted(emptied.values_list("outcome", flat=True)) == ["duplicate", "processed"]
    assert all(bytes(body) == b"" for body in emptied.values_list("body", flat=True))
    kept = Delivery.objects.filter(body_pruned_at__isnull=True)
    assert sorted(kept.values_list("outcome", flat=True)) == ["flagged", "processed"]
    assert all(bytes(body) for body in kept.values_list("body", flat=True))
    # The claim outlives the body: a late copy is still a duplicate, and moves nothing.
    assert webhook.post("confirmation", applied).json()["status"] == "duplicate"
    assert balances() == (Decimal("10.00"), Decimal("10.00"))
    with pytest.raises(CommandError, match="exists"):
        call_command("prune_delivery_bodies", "--archive", str(archive))
