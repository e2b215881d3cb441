"""The inbox migration keeps what was stored: text bodies become their bytes, and signed
notifications refused with 400 before become flagged (never pruned, reprocessable)."""

import pytest

from tests.support.migrations import database_at, migrate_to
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("webhooks", "0001_initial")]
AFTER = [("webhooks", "0002_raw_body_review_and_kept_signed_refusals")]



def test_bodies_become_bytes_and_signed_refusals_are_kept_for_review():
    with database_at(BEFORE) as old_apps:
        OldDelivery = old_apps.get_model("webhooks", "Delivery")
        common = {"kind": "pending", "endpoint": "/webhooks/pomelo/loyalty/pending", "headers": {}}
        processed = OldDelivery.objects.create(**common, body='{"a":"é"}', idempotency_key="k-1",
                                               outcome="processed", http_status=200)
        refused = OldDelivery.objects.create(**common, body='{"amount":"1.234"}', idempotency_key="k-2",
                                             outcome="rejected", http_status=400,
                                             detail="invalid_payload: more than 2 decimals")
        copy = OldDelivery.objects.create(**common, body='{"a":"é"}', idempotency_key="k-1",
                                          outcome="rejected", http_status=400)
        other = OldDelivery.objects.create(**common, body='{"b":1}', idempotency_key="k-1",
                                           outcome="rejected", http_status=400)
        unsigned = OldDelivery.objects.create(**common, body="{bad", outcome="rejected", http_status=401)
        migrate_to(AFTER)

    rows = {d.pk: d for d in Delivery.objects.all()}
    assert bytes(rows[processed.pk].body) == '{"a":"é"}'.encode()
    assert rows[refused.pk].outcome == "flagged"
    assert "more than 2 decimals" in rows[refused.pk].review
    assert rows[copy.pk].outcome == "duplicate"
    assert rows[other.pk].outcome == "key_reused"
    assert rows[other.pk].review == f"same idempotency_key as delivery #{processed.pk}, different body"
    assert rows[unsigned.pk].outcome == "rejected" and bytes(rows[unsigned.pk].body) == b"{bad"
