"""Fuzzing the payload mapping: any bytes in, a notification or a review reason out.

Nothing else may escape notification_parse (a RecursionError, a ValueError from int(), an
OverflowError from a date...): the intake would answer 500 and Pomelo would retry forever.
"""

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rewards.models import NotificationKind
from rewards.notification_data import RewardNotification
from rewards.selectors import ledger_mismatches
from webhooks.models import Delivery
from webhooks.payload import MAX_AMOUNT, PayloadError, PayloadRules, notification_parse

RULES = PayloadRules(account_types=("points", "cashback", "miles"))
KINDS = [None, *NotificationKind]
FIELDS = ["event_id", "idempotency_key", "user_id", "card_id", "card_last_four", "transaction_id",
          "transaction", "account_type", "amount", "created_at"]

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text() | st.decimals(allow_nan=False, allow_infinity=False).map(str)
    | st.sampled_from(["loyalty-pending", "loyalty-confirm", "loyalty-cancel", "points", "POINTS",
                       "10.00", "-3.5", "1.234", "1E+2", " 5 ", "1_000", "١٠", "4242", "****4242",
                       "2026-11-01T10:00:00-03:00", "9999-12-31T23:59:59-05:00", "usr-1", "ctx-1"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children,
                                                                       max_size=3),
    max_leaves=12,
)
notification_like = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS))


def _check(kind, body: bytes) -> None:
    try:
        notification = notification_parse(kind=kind, body=body, rules=RULES)
    except PayloadError as exc:
        assert exc.field and exc.message
        assert isinstance(exc.event_id, str) and isinstance(exc.idempotency_key, str)
        return
    assert isinstance(notification, RewardNotification)
    assert notification.event_id.isprintable() and notification.idempotency_key.isprintable()
    if kind is not None:
        assert notification.kind == kind
    if notification.amount is not None:
        assert isinstance(notification.amount, Decimal)
        assert notification.amount.as_tuple().exponent == -2 and abs(notification.amount) < MAX_AMOUNT
    assert notification.account_type in (None, *RULES.account_types)


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), body=st.binary(max_size=300))
@example(kind=None, body=b"[" * 5000 + b"]" * 5000)
@example(kind=None, body=b'{"event_id":' + b"1" * 5000 + b"}")
@example(kind=None,
         body=b'{"event_id":"loyalty-pending","idempotency_key":"k","amount":' + b"9" * 5000 + b"}")
@example(kind=NotificationKind.PENDING, body=b'{"event_id":"e","idempotency_key":"k","created_at":'
         b'"0001-01-01T00:00:00+01:00"}')
def test_any_bytes_give_a_notification_or_a_reason(kind, body):
    _check(kind, body)


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from(KINDS), data=notification_like, ascii_only=st.booleans())
def test_any_json_object_gives_a_notification_or_a_reason(kind, data, ascii_only):
    _check(kind, json.dumps(data, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass"))


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["pending", "confirmation", "cancellation"]),
       body=st.binary(max_size=200) | notification_like.map(lambda d: json.dumps(d).encode()))
def test_any_signed_body_is_kept_byte_for_byte_and_answered_200(webhook, kind, body):
    response = webhook.post(kind, None, raw=body)
    assert response.status_code == 200, response.content
    assert response.json()["status"] in {"received", "duplicate", "flagged"}
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert delivery.outcome in {"processed", "flagged", "duplicate", "key_reused"}
    assert bytes(delivery.body) == body
    assert ledger_mismatches() == []
