"""Signed Pomelo notifications, as the webhook tests send them."""

import base64
import json
import time

from webhooks.signature import signature_compute

# Pomelo's published test pair (its documentation's example), not a real credential.
TEST_API_KEY = "Lp0g+cwb19eEfTn1YIOydEnqPcZOg8YxHctnMe+1cQA="
TEST_API_SECRET = "uC8fVXzXMyaw1PseV452i6ozQwIIa4olcSpjuvn5E4E="


WEBHOOK_PATHS = {
    "pending": "/webhooks/pomelo/loyalty/pending",
    "confirmation": "/webhooks/pomelo/loyalty/confirmation",
    "cancellation": "/webhooks/pomelo/loyalty/cancellation",
}


def signed_headers(
    body: bytes, endpoint: str, *, timestamp: int | None = None, api_key: str = TEST_API_KEY,
    secret: str = TEST_API_SECRET,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = signature_compute(
        key=base64.b64decode(secret), timestamp=ts, endpoint=endpoint, body=body
    )
    return {"x-api-key": api_key, "x-signature": signature, "x-timestamp": ts,
            "x-endpoint": endpoint}


def notification_body(kind: str, tx: str, *, amount="10.00", user="usr-1", account_type="points",
                      card="crd-1", key: str | None = None, **extra) -> dict:
    body = {
        "event_id": f"loyalty-{kind}",
        "idempotency_key": key or f"{tx}-{account_type}-{kind}",
        "user_id": user,
        "card_id": card,
        "transaction_id": tx,
        "account_type": account_type,
        "amount": amount,
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


class WebhookSender:
    """Posts signed notifications through Django's test client (the real view and middleware)."""

    def __init__(self, client):
        self.client = client

    def post(self, kind: str, payload, *, raw: bytes | None = None, headers=None,
             path: str | None = None):
        path = path or WEBHOOK_PATHS[kind]
        body = raw if raw is not None else json.dumps(payload, default=str).encode()
        sent = signed_headers(body, path)
        sent.update(headers or {})
        return self.client.generic("POST", path, body, content_type="application/json",
                                   headers=sent)


def delivery_of(response):
    """The delivery a webhook response acknowledged, as the apply left it."""
    from webhooks.models import Delivery

    return Delivery.objects.get(pk=response.json()["delivery_id"])


def outcome_of(response) -> str:
    return delivery_of(response).outcome
