"""The webhook endpoints end to end: HTTP in, delivery recorded, ledger changed (or not)."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from rewards.models import LedgerEntry, RewardEvent
from tests.support.ledger import balances
from tests.support.webhooks import WEBHOOK_PATHS, notification_body, signed_headers
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
Outcome = Delivery.Outcome


def test_pending_notification_is_received_applied_and_recorded(webhook):
    response = webhook.post("pending", notification_body("pending", "ctx-1", card_last_four="4242"))
    assert response.status_code == 200, response.content
    delivery = Delivery.objects.get()
    assert response.json() == {"status": "received", "delivery_id": delivery.pk}
    assert balances() == (Decimal("10.00"), Decimal("0"))
    assert delivery.outcome == Outcome.PROCESSED and delivery.http_status == 200
    assert delivery.idempotency_key == "ctx-1-points-pending"
    assert delivery.api_key and delivery.remote_addr == "127.0.0.1"
    assert json.loads(bytes(delivery.body))["transaction_id"] == "ctx-1"
    assert "x-signature" in delivery.headers


def test_duplicate_delivery_answers_200_and_changes_nothing(webhook):
    payload = notification_body("confirmation", "ctx-1")
    first = webhook.post("confirmation", payload)
    second = webhook.post("confirmation", payload)
    assert first.json()["status"] == "received"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert balances() == (Decimal("0"), Decimal("10.00"))
    assert LedgerEntry.objects.count() == 1
    assert sorted(Delivery.objects.values_list("outcome", flat=True)) == ["duplicate", "processed"]


def test_same_key_on_another_notification_type_is_not_a_duplicate(webhook):
    webhook.post("pending", notification_body("pending", "ctx-1", key="shared"))
    response = webhook.post("confirmation", notification_body("confirmation", "ctx-1", key="shared"))
    assert response.json()["status"] == "received"
    assert Delivery.objects.get(pk=response.json()["delivery_id"]).outcome == Outcome.PROCESSED
    assert balances() == (Decimal("0"), Decimal("10.00"))


def test_signed_test_vector_is_accepted_and_one_changed_byte_is_refused(webhook, settings):
    body = (b'{"event_id":"loyalty-pending",'
            b'"idempotency_key":"ctx-38Wig8u500urqNCgMAy1vE4voXl-pending"}')
    accepted = webhook.post("pending", None, raw=body)
    # Signed, but without the fields the ledger needs: kept and flagged, answered 200.
    assert accepted.status_code == 200 and accepted.json()["status"] == "received"
    assert Delivery.objects.get(pk=accepted.json()["delivery_id"]).outcome == Outcome.FLAGGED
    headers = signed_headers(body, WEBHOOK_PATHS["pending"])
    tampered = body.replace(b"pending\"}", b"pendinG\"}")
    refused = webhook.client.generic("POST", WEBHOOK_PATHS["pending"], tampered,
                                     content_type="application/json", headers=headers)
    assert refused.status_code == 401
    assert refused.json() == {
        "status": "rejected", "error": "invalid_signature",
        "message": "x-signature does not match the body", "delivery_id": refused.json()["delivery_id"],
    }


def test_notification_without_ledger_fields_is_stored_and_flagged(webhook):
    response = webhook.post("pending", {"event_id": "e", "idempotency_key": "k-1"})
    assert response.status_code == 200
    assert response.json()["status"] == "received"
    delivery = Delivery.objects.get()
    assert "missing transaction_id, account_type, user_id, amount" in delivery.review
    assert delivery.outcome == Outcome.FLAGGED
    assert delivery.review.startswith("missing transaction_id")
    assert not LedgerEntry.objects.exists()
    again = webhook.post("pending", {"event_id": "e", "idempotency_key": "k-1"})
    assert again.json()["status"] == "duplicate"


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        (b"{oops", "body", "malformed JSON"),
        (b"[]", "body", "JSON object"),
        (b'{"event_id":"e"}', "idempotency_key", "idempotency_key is required"),
        (b'{"event_id":1,"idempotency_key":"k"}', "event_id", "must be a string"),
        (b'{"event_id":"e","idempotency_key":"k","amount":"1.234"}', "amount", "more than 2"),
        (b'{"event_id":"e","idempotency_key":"k","amount":"-1"}', "amount", "negative"),
        (b'{"event_id":"e","idempotency_key":"k","amount":"1","account_type":"gold"}',
         "account_type", "unknown account_type"),
    ],
)
def test_signed_body_we_cannot_read_is_kept_flagged_and_answered_200(webhook, raw, field, words):
    """Pomelo gives up on a 4xx: what it signed is kept, byte for byte, for a person."""
    response = webhook.post("pending", None, raw=raw)
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert response.json() == {"status": "received", "delivery_id": delivery.pk}
    assert delivery.outcome == Outcome.FLAGGED and delivery.http_status == 200
    assert bytes(delivery.body) == raw and words in delivery.review
    assert not RewardEvent.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({"x-signature": ""}, "missing header(s): x-signature"),
        ({"x-api-key": "someone-else"}, "unknown x-api-key"),
        ({"x-timestamp": "1000000000"}, "s old"),
        ({"x-endpoint": "/webhooks/pomelo/loyalty/confirmation"}, "does not match the path"),
        ({"x-signature": "hmac-md5 abc"}, "unsupported signature algorithm"),
    ],
)
def test_signature_failures_are_401_and_change_nothing(webhook, headers, words):
    response = webhook.post("pending", notification_body("pending", "ctx-1"), headers=headers)
    assert response.status_code == 401
    assert words in response.json()["message"]
    assert not LedgerEntry.objects.exists()
    assert Delivery.objects.get().outcome == Outcome.REJECTED


def test_stale_signed_request_is_refused(webhook, client):
    body = json.dumps(notification_body("pending", "ctx-1")).encode()
    path = WEBHOOK_PATHS["pending"]
    old = signed_headers(body, path, timestamp=1700000000)
    response = client.generic("POST", path, body, content_type="application/json", headers=old)
    assert response.status_code == 401 and "tolerance is 300 s" in response.json()["message"]


def test_address_outside_allow_list_is_403(webhook, settings):
    settings.POMELO_WEBHOOK_ALLOWED_IPS = ["34.226.254.178", "10.0.0.0/8"]
    response = webhook.post("pending", notification_body("pending", "ctx-1"))
    assert response.status_code == 403
    assert "127.0.0.1 is not in the allow-list" in response.json()["message"]
    assert not LedgerEntry.objects.exists()


def test_allow_list_reads_the_address_our_proxy_saw(webhook, settings):
    settings.POMELO_WEBHOOK_ALLOWED_IPS = ["34.226.254.178"]
    settings.CLIENT_IP_TRUSTED_PROXY_COUNT = 1
    forged_then_real = {"x-forwarded-for": "34.226.254.178, 203.0.113.9"}
    refused = webhook.post("pending", notification_body("pending", "ctx-1"), headers=forged_then_real)
    assert refused.status_code == 403
    accepted = webhook.post("pending", notification_body("pending", "ctx-1"),
                            headers={"x-forwarded-for": "203.0.113.9, 34.226.254.178"})
    assert accepted.status_code == 200
    assert Delivery.objects.get(outcome=Outcome.PROCESSED).remote_addr == "34.226.254.178"


def test_body_above_limit_is_413_recorded_without_the_body(webhook):
    payload = notification_body("pending", "ctx-1", padding="x" * 70_000)
    response = webhook.post("pending", payload)
    assert response.status_code == 413
    assert "exceeds the limit of 65536 bytes" in response.json()["message"]
    delivery = Delivery.objects.get()
    assert delivery.outcome == Outcome.REJECTED and delivery.http_status == 413
    assert bytes(delivery.body) == b"" and "body not kept" in delivery.detail
    assert "x-signature" in delivery.headers
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405_json(client, method):
    response = client.generic(method, WEBHOOK_PATHS["pending"])
    assert response.status_code == 405
    assert "use POST" in response.json()["detail"]


def test_processing_failure_is_retried_then_failed_for_staff_and_reprocessable(webhook, settings):
    """Our own failure: the ledger cannot hold the balance. The delivery is stored and
    answered 200 all the same; the worker retries it with backoff, then shows it to staff as
    failed, and staff reprocess it once the cause is gone."""
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.inbox import inbox_batch_apply

    settings.WEBHOOK_APPLY_MAX_ATTEMPTS = 2
    huge = "9000000000000000.00"
    assert webhook.post("confirmation", notification_body("confirmation", "ctx-a", amount=huge)
                        ).status_code == 200
    answer = webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount=huge))
    assert answer.status_code == 200 and answer.json()["status"] == "received"
    delivery = Delivery.objects.get(pk=answer.json()["delivery_id"])
    assert delivery.outcome == Outcome.RECEIVED and delivery.attempts == 1
    assert delivery.retry_at > timezone.now() and "LedgerOverflow" in delivery.detail
    assert inbox_batch_apply().claimed == 0  # not due yet
    Delivery.objects.filter(pk=delivery.pk).update(retry_at=timezone.now() - timedelta(seconds=1))
    assert inbox_batch_apply().failed == 1
    delivery.refresh_from_db()
    assert delivery.outcome == Outcome.FAILED and delivery.attempts == 2
    assert "after 2 attempts" in delivery.review
    assert balances() == (Decimal("0"), Decimal(huge))
    assert not RewardEvent.objects.filter(transaction_id="ctx-b").exists()
    # A copy Pomelo sends meanwhile is a duplicate: the failed delivery keeps the claim.
    copy = webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount=huge))
    assert copy.json()["status"] == "duplicate"

    webhook.post("cancellation", notification_body("cancellation", "ctx-a", amount=None))
    from webhooks.services import delivery_reprocess

    result = delivery_reprocess(delivery_id=delivery.pk)
    assert result.outcome == Outcome.PROCESSED
    assert balances() == (Decimal("0"), Decimal(huge))
    assert RewardEvent.objects.get(transaction_id="ctx-b").state == "confirmed"
    assert delivery_reprocess(delivery_id=delivery.pk).message == "not reprocessed: it is processed"
    call_command("check_ledger")


def test_prune_removes_only_old_rejected_deliveries(webhook):
    from datetime import timedelta

    from django.utils import timezone

    webhook.post("pending", notification_body("pending", "ctx-1"))
    webhook.post("pending", None, raw=b"{signed but unreadable")
    webhook.post("pending", None, raw=b"{bad", headers={"x-signature": "hmac-sha256 forged"})
    webhook.post("pending", None, raw=b"{worse", headers={"x-signature": "hmac-sha256 forged"})
    old = timezone.now() - timedelta(days=31)
    Delivery.objects.update(received_at=old)
    Delivery.objects.filter(body=b"{worse").update(received_at=timezone.now())
    call_command("prune_rejected_deliveries")
    assert sorted(bytes(b) for b in Delivery.objects.values_list("body", flat=True)) == sorted([
        b"{signed but unreadable", b"{worse", json.dumps(notification_body("pending", "ctx-1")).encode(),
    ])
    assert Delivery.objects.get(body=b"{signed but unreadable").outcome == Outcome.FLAGGED
