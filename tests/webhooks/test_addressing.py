"""Where and how Pomelo reaches us: the single URL, proxies that move the path, the methods,
chunked bodies and IPv4-mapped addresses."""

import io
import json
from decimal import Decimal

import pytest

from rewards.models import LedgerEntry
from tests.support.ledger import balances
from tests.support.webhooks import (
    WEBHOOK_PATHS,
    delivery_of,
    notification_body,
    outcome_of,
    signed_headers,
)
from webhooks.models import Delivery
from webhooks.services import delivery_reprocess

pytestmark = pytest.mark.django_db
Outcome = Delivery.Outcome
SINGLE_PATH = "/webhooks/pomelo/loyalty/"
SAMPLE_EVENT_IDS = {"pending": "loyalty-pending", "confirmation": "loyalty-confirm",
                    "cancellation": "loyalty-cancel"}


def post_signed(client, path, payload, *, endpoint=None, **environ):
    body = json.dumps(payload).encode()
    return client.generic("POST", path, body, content_type="application/json",
                          headers=signed_headers(body, endpoint or path), **environ)


def sample(kind, tx, **kw):
    return notification_body(kind, tx, event_id=SAMPLE_EVENT_IDS[kind], **kw)


# --- x-endpoint behind a proxy ----------------------------------------------------------


def test_x_endpoint_may_name_the_public_path_a_proxy_strips(client, settings):
    public = "/backoffice" + WEBHOOK_PATHS["pending"]
    refused = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-1"), endpoint=public)
    assert refused.status_code == 401

    settings.POMELO_WEBHOOK_PUBLIC_PATH_PREFIX = "/backoffice"
    accepted = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-1"), endpoint=public)
    assert accepted.status_code == 200 and outcome_of(accepted) == "processed"
    assert balances() == (Decimal("10.00"), Decimal("0"))
    # The path Django saw still matches too, and nothing else does.
    seen = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-2"))
    assert seen.status_code == 200
    other = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-3"),
                        endpoint="/elsewhere" + WEBHOOK_PATHS["pending"])
    assert other.status_code == 401 and "/backoffice/webhooks" in other.json()["message"]


def test_x_endpoint_survives_a_proxy_that_adds_a_prefix(client):
    """Mounted under a script name (SCRIPT_NAME), Django's full path carries the prefix that
    Pomelo never saw."""
    response = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-1"),
                           endpoint=WEBHOOK_PATHS["pending"], SCRIPT_NAME="/internal")
    assert response.status_code == 200, response.content
    assert Delivery.objects.get().endpoint == "/internal" + WEBHOOK_PATHS["pending"]


# --- one URL for every notification ------------------------------------------------------


def test_single_url_takes_the_kind_from_event_id(client):
    for kind in ("pending", "confirmation"):
        response = post_signed(client, SINGLE_PATH, sample(kind, "ctx-1"))
        assert response.status_code == 200 and outcome_of(response) == "processed"
    post_signed(client, SINGLE_PATH, sample("pending", "ctx-2", amount="4.00"))
    assert balances() == (Decimal("4.00"), Decimal("10.00"))
    assert post_signed(client, SINGLE_PATH, sample("cancellation", "ctx-2", amount=None)).status_code == 200
    assert balances() == (Decimal("0"), Decimal("10.00"))
    kinds = list(Delivery.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["pending", "confirmation", "pending", "cancellation"]


def test_the_same_notification_on_both_urls_is_a_duplicate(client):
    payload = sample("confirmation", "ctx-1")
    post_signed(client, WEBHOOK_PATHS["confirmation"], payload)
    again = post_signed(client, SINGLE_PATH, payload)
    assert again.json()["status"] == "duplicate"
    assert LedgerEntry.objects.count() == 1


def test_single_url_event_id_we_cannot_map_is_kept_and_applied_once_the_mapping_knows_it(client, settings):
    payload = notification_body("pending", "ctx-1", event_id="reward.pending.v2")
    response = post_signed(client, SINGLE_PATH, payload)
    assert response.status_code == 200 and outcome_of(response) == "flagged"
    delivery = Delivery.objects.get()
    assert delivery.kind == "" and "reward.pending.v2" in delivery.review
    assert not LedgerEntry.objects.exists()
    # A retry of it is a duplicate, not a second flagged row.
    assert post_signed(client, SINGLE_PATH, payload).json()["status"] == "duplicate"

    settings.POMELO_WEBHOOK_EVENT_KINDS = {"reward.pending.v2": "pending"}
    result = delivery_reprocess(delivery_id=delivery.pk)
    assert result.outcome == Outcome.PROCESSED
    delivery.refresh_from_db()
    assert delivery.kind == "pending" and delivery.review == ""
    assert balances() == (Decimal("10.00"), Decimal("0"))


def test_event_id_contradicting_the_url_is_flagged_and_moves_nothing(client):
    response = post_signed(client, WEBHOOK_PATHS["pending"], sample("confirmation", "ctx-1"))
    assert outcome_of(response) == "flagged"
    assert "names a reward confirmation" in delivery_of(response).review
    assert not LedgerEntry.objects.exists()
    # An event_id the mapping does not know says nothing about the kind: the URL decides.
    other = post_signed(client, WEBHOOK_PATHS["pending"],
                        notification_body("pending", "ctx-2", event_id="0b0e6c1e-uuid"))
    assert outcome_of(other) == "processed"


# --- methods and bodies ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE", "PROPFIND"])
@pytest.mark.parametrize("path", [WEBHOOK_PATHS["pending"], SINGLE_PATH])
def test_every_method_but_post_is_405_and_recorded(client, method, path):
    response = client.generic(method, path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    delivery = Delivery.objects.get()
    assert delivery.outcome == Outcome.REJECTED and delivery.http_status == 405
    assert f"{method} is not allowed" in delivery.detail
    if method != "HEAD":
        assert f"{method} is not allowed; use POST" in response.json()["detail"]


def test_chunked_body_is_read_to_its_end(client):
    """gunicorn passes a chunked body without Content-Length and marks the stream terminated."""
    body = json.dumps(sample("pending", "ctx-1")).encode()
    headers = signed_headers(body, WEBHOOK_PATHS["pending"])
    response = client.generic(
        "POST", WEBHOOK_PATHS["pending"], b"", content_type="application/json", headers=headers,
        HTTP_TRANSFER_ENCODING="chunked", **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 200 and outcome_of(response) == "processed"
    assert bytes(Delivery.objects.get().body) == body
    assert balances() == (Decimal("10.00"), Decimal("0"))


def test_chunked_body_above_the_limit_is_413(client, settings):
    settings.POMELO_WEBHOOK_MAX_BODY_BYTES = 100
    body = json.dumps(sample("pending", "ctx-1", padding="x" * 200)).encode()
    response = client.generic(
        "POST", WEBHOOK_PATHS["pending"], b"", content_type="application/json",
        headers=signed_headers(body, WEBHOOK_PATHS["pending"]), HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert Delivery.objects.get().outcome == Outcome.REJECTED and not LedgerEntry.objects.exists()


# --- the allow-list ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "peer", "status"),
    [
        (["34.226.254.178"], "::ffff:34.226.254.178", 200),
        (["10.0.0.0/8"], "::ffff:10.1.2.3", 200),
        (["::ffff:34.226.254.178"], "34.226.254.178", 200),
        (["::ffff:10.0.0.0/104"], "10.9.9.9", 200),
        (["34.226.254.178"], "::ffff:34.226.254.179", 403),
        (["34.226.254.178"], "2001:db8::1", 403),
        (["2001:db8::/32"], "2001:db8::1", 200),
    ],
)
def test_ipv4_mapped_addresses_match_ipv4_entries(client, settings, allowed, peer, status):
    settings.POMELO_WEBHOOK_ALLOWED_IPS = allowed
    response = post_signed(client, WEBHOOK_PATHS["pending"], sample("pending", "ctx-1"), REMOTE_ADDR=peer)
    assert response.status_code == status, response.content
