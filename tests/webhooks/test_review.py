"""What a person must look at: notifications about another member, a key reused with another
body, balances below zero; reprocessing after the cause is fixed; the inbox that shows them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Card, Member
from rewards.models import AuditEntry, LedgerEntry, RewardEvent
from tests.support.ledger import balances
from tests.support.webhooks import delivery_of, notification_body, outcome_of
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
Outcome = Delivery.Outcome


# --- identity ----------------------------------------------------------------------------


def test_card_of_another_member_is_flagged_and_creates_nothing(webhook):
    webhook.post("confirmation", notification_body("confirmation", "ctx-1", user="usr-1", card="crd-1"))
    response = webhook.post(
        "pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-1", card_last_four="4242")
    )
    assert response.status_code == 200 and outcome_of(response) == "flagged"
    assert "card crd-1 belongs to member usr-1, not usr-2" in delivery_of(response).review
    assert not Member.objects.filter(pomelo_user_id="usr-2").exists()
    assert Card.objects.get().last_four == ""  # not even the last four were written
    assert not RewardEvent.objects.filter(transaction_id="ctx-2").exists()
    assert balances("usr-1") == (Decimal("0"), Decimal("10.00"))
    assert Delivery.objects.get(pk=response.json()["delivery_id"]).outcome == Outcome.FLAGGED


@pytest.mark.parametrize("kind", ["cancellation", "confirmation", "pending"])
def test_notification_about_another_members_reward_is_flagged_and_creates_nothing(webhook, kind):
    webhook.post("pending", notification_body("pending", "ctx-1", user="usr-1", card="crd-1"))
    response = webhook.post(kind, notification_body(kind, "ctx-1", user="usr-2", card="crd-2",
                                                    key=f"usr-2-{kind}"))
    assert outcome_of(response) == "flagged"
    assert "reward ctx-1 (points) belongs to member usr-1, not usr-2" in delivery_of(response).review
    assert not Member.objects.filter(pomelo_user_id="usr-2").exists()
    assert not Card.objects.filter(pomelo_card_id="crd-2").exists()
    assert RewardEvent.objects.get().state == "pending"
    assert balances("usr-1") == (Decimal("10.00"), Decimal("0"))
    assert LedgerEntry.objects.count() == 1


def test_userless_cancellation_with_another_members_card_is_flagged(webhook):
    webhook.post("pending", notification_body("pending", "ctx-1", user="usr-1", card="crd-1"))
    webhook.post("pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-2"))
    response = webhook.post("cancellation", notification_body("cancellation", "ctx-1", user=None,
                                                              card="crd-2", amount=None))
    assert outcome_of(response) == "flagged" and "belongs to another member" in delivery_of(response).review
    assert balances("usr-1") == (Decimal("10.00"), Decimal("0"))


# --- same key, different body ------------------------------------------------------------


def test_same_key_with_another_body_is_kept_flagged_and_shown(webhook, admin_client):
    first = notification_body("confirmation", "ctx-1", key="key-1")
    webhook.post("confirmation", first)
    response = webhook.post("confirmation", {**first, "amount": "99.00"})
    # Off the common path: the answer says it was kept for a person.
    assert response.status_code == 200 and response.json()["status"] == "flagged"
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.outcome == Outcome.KEY_REUSED
    assert delivery.review.startswith("same idempotency_key as delivery #")
    assert balances() == (Decimal("0"), Decimal("10.00"))
    # The exact copy is still a plain duplicate.
    assert webhook.post("confirmation", first).json()["status"] == "duplicate"

    url = reverse("admin:webhooks_delivery_changelist")
    listed = admin_client.get(url, {"needs_review": "yes"})
    assert [d.pk for d in listed.context["cl"].result_list] == [delivery.pk]
    assert b'class="delivery-outcome outcome-key_reused"' in listed.content
    assert b"same idempotency_key as delivery #" in listed.content
    by_outcome = admin_client.get(url, {"outcome__exact": "key_reused"})
    assert [d.pk for d in by_outcome.context["cl"].result_list] == [delivery.pk]


# --- balances below zero -----------------------------------------------------------------


def test_confirmation_taking_the_balance_below_zero_is_applied_and_flagged(webhook):
    webhook.post("confirmation", notification_body("confirmation", "ctx-a", amount="5.00"))
    response = webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount="-8.00"))
    assert outcome_of(response) == "processed"
    assert "available points balance of usr-1 went below zero: -3.00" in delivery_of(response).review
    assert balances() == (Decimal("0"), Decimal("-3.00"))
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.outcome == Outcome.PROCESSED and "below zero" in delivery.review
    # Raising it again is not flagged; the earlier delivery keeps its flag.
    again = webhook.post("confirmation", notification_body("confirmation", "ctx-c", amount="1.00"))
    assert delivery_of(again).review == ""


def test_reversal_taking_the_balance_below_zero_is_flagged(webhook):
    webhook.post("confirmation", notification_body("confirmation", "ctx-a", amount="5.00"))
    webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount="-4.00"))
    response = webhook.post("cancellation", notification_body("cancellation", "ctx-a", amount=None))
    assert "went below zero: -4.00" in delivery_of(response).review


def test_confirmation_after_cancellation_is_shown_for_review(webhook):
    webhook.post("cancellation", notification_body("cancellation", "ctx-1", amount=None))
    response = webhook.post("confirmation", notification_body("confirmation", "ctx-1"))
    assert delivery_of(response).review == "confirmation arrived after the reward was cancelled"
    assert not LedgerEntry.objects.exists()


# --- reprocessing ------------------------------------------------------------------------


def test_flagged_delivery_is_reprocessed_once_the_settings_know_it(webhook, admin_client, settings):
    response = webhook.post("confirmation", notification_body("confirmation", "ctx-1", account_type="stars"))
    flagged = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert flagged.outcome == Outcome.FLAGGED and "unknown account_type 'stars'" in flagged.review
    url = reverse("admin:webhooks_delivery_changelist")
    payload = {"action": "reprocess", "_selected_action": [flagged.pk]}

    response = admin_client.post(url, payload, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{flagged.pk}: flagged" in t and "stars" in t for t in texts), texts

    settings.POMELO_ACCOUNT_TYPES = ["points", "cashback", "miles", "stars"]
    response = admin_client.post(url, payload, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{flagged.pk}: processed — created confirmed reward 10.00" in t for t in texts), texts
    flagged.refresh_from_db()
    assert flagged.outcome == Outcome.PROCESSED and flagged.review == "" and flagged.attempts == 3
    assert balances(account_type="stars") == (Decimal("0"), Decimal("10.00"))
    audits = AuditEntry.objects.filter(action="delivery_reprocessed", actor_name="admin")
    assert [a.data["outcome"] for a in audits.order_by("pk")] == ["flagged", "processed"]
    # Its claim stays: Pomelo's copy is a duplicate.
    again = webhook.post("confirmation", notification_body("confirmation", "ctx-1", account_type="stars"))
    assert again.json()["status"] == "duplicate"


def test_rejected_and_key_reused_deliveries_are_not_reprocessed(webhook):
    from webhooks.services import delivery_reprocess

    webhook.post("pending", None, raw=b"{}", headers={"x-signature": "hmac-sha256 forged"})
    rejected = Delivery.objects.get()
    assert delivery_reprocess(delivery_id=rejected.pk).message == "not reprocessed: it is rejected"


# --- the inbox page ----------------------------------------------------------------------


def test_inbox_shows_a_hostile_body_escaped_and_its_bytes_readable(webhook, admin_client):
    raw = b'{"event_id":"<script>alert(1)</script>","idempotency_key":"k"}\x00\xff\r'
    webhook.post("pending", None, raw=raw)
    delivery = Delivery.objects.get()
    assert delivery.outcome == Outcome.FLAGGED
    page = admin_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "}\\x00\\xff\\r</pre>" in html
    assert f"{len(raw)} bytes, not valid JSON" in html
    assert "body is not UTF-8" in html  # the review
