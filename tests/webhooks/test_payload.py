from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rewards.models import NotificationKind
from webhooks.payload import PayloadError, PayloadRules, notification_glance, notification_parse

RULES = PayloadRules(account_types=("points", "cashback", "miles"))


def parse(body: bytes | str, kind=NotificationKind.PENDING, rules=RULES):
    if isinstance(body, str):
        body = body.encode()
    return notification_parse(kind=kind, body=body, rules=rules)


def test_full_notification_is_mapped():
    n = parse(
        '{"event_id":"e1","idempotency_key":"k1","user_id":"usr-1","card_id":"crd-9",'
        '"transaction":{"id":"ctx-7"},"account_type":"Points","amount":1000.5,'
        '"card_last_four":"4242","created_at":"2026-11-01T10:00:00-03:00"}'
    )
    assert (n.event_id, n.idempotency_key, n.user_id, n.card_id) == ("e1", "k1", "usr-1", "crd-9")
    assert n.transaction_id == "ctx-7"
    assert n.account_type == "points"
    assert n.amount == Decimal("1000.50") and isinstance(n.amount, Decimal)
    assert n.card_last_four == "4242"
    assert n.occurred_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    assert n.missing_for_ledger() == []


def test_amount_as_string_keeps_every_digit():
    n = parse('{"event_id":"e","idempotency_key":"k","amount":"12345678901234.99"}')
    assert n.amount == Decimal("12345678901234.99")


def test_only_event_id_and_key_are_required():
    n = parse('{"event_id":"e","idempotency_key":"k"}')
    assert n.missing_for_ledger() == ["transaction_id", "account_type", "user_id", "amount"]
    cancel = parse('{"event_id":"e","idempotency_key":"k"}', NotificationKind.CANCELLATION)
    assert cancel.missing_for_ledger() == ["transaction_id", "account_type"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("{not json", "body", "malformed JSON"),
        ("[1, 2]", "body", "must be a JSON object"),
        ('"text"', "body", "must be a JSON object"),
        ('{"idempotency_key":"k"}', "event_id", "event_id is required"),
        ('{"event_id":"e"}', "idempotency_key", "idempotency_key is required"),
        ('{"event_id":7,"idempotency_key":"k"}', "event_id", "must be a string"),
        ('{"event_id":"e","idempotency_key":["k"]}', "idempotency_key", "must be a string"),
        ('{"event_id":"e","idempotency_key":"  "}', "idempotency_key", "blank"),
        ('{"event_id":"e","idempotency_key":"k","amount":"1.005"}', "amount", "more than 2"),
        ('{"event_id":"e","idempotency_key":"k","amount":0.001}', "amount", "more than 2"),
        ('{"event_id":"e","idempotency_key":"k","amount":"abc"}', "amount", "not a plain decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":NaN}', "body", "NaN"),
        ('{"event_id":"e","idempotency_key":"k","amount":"NaN"}', "amount", "not a plain decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":"Infinity"}', "amount", "not a plain decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":true}', "amount", "decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":{"v":1}}', "amount", "decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":-5}', "amount", "negative"),
        ('{"event_id":"e","idempotency_key":"k","amount":1e20}', "amount", "not a plain decimal"),
        ('{"event_id":"e","idempotency_key":"k","amount":100000000000000000}', "amount", "too large"),
        ('{"event_id":"e","idempotency_key":"k","account_type":"stars"}', "account_type",
         "unknown account_type"),
        ('{"event_id":"e","idempotency_key":"k","card_last_four":"12a4"}', "card_last_four",
         "four digits"),
        ('{"event_id":"e","idempotency_key":"k","transaction":"ctx"}', "transaction", "object"),
        ('{"event_id":"e","idempotency_key":"k","created_at":"yesterday"}', "created_at",
         "ISO 8601"),
        ('{"event_id":"e","idempotency_key":"k","user_id":"' + "u" * 65 + '"}', "user_id",
         "longer than"),
    ],
)
def test_bad_bodies_name_the_field(body, field, message):
    with pytest.raises(PayloadError, match=message) as info:
        parse(body)
    assert info.value.field == field


def test_non_utf8_body_is_refused():
    with pytest.raises(PayloadError) as info:
        parse(b'{"event_id":"\xff"}')
    assert info.value.field == "body"


def test_negative_amount_is_allowed_on_a_confirmation_only():
    body = '{"event_id":"e","idempotency_key":"k","amount":"-5.25"}'
    assert parse(body, NotificationKind.CONFIRMATION).amount == Decimal("-5.25")
    with pytest.raises(PayloadError):
        parse(body, NotificationKind.CANCELLATION)


def test_trailing_zeros_beyond_two_decimals_are_exact_and_allowed():
    assert parse('{"event_id":"e","idempotency_key":"k","amount":"2.500"}').amount == Decimal(
        "2.50"
    )


def test_glance_keeps_numbers_as_sent_and_never_raises():
    body = (b'{"user_id": "usr-1", "transaction_id": "tx-1", "amount": 0.1000000000000000055511, '
            b'"account_type": "points"}')
    assert notification_glance(body) == {
        "user_id": "usr-1", "transaction_id": "tx-1", "amount": "0.1000000000000000055511",
        "account_type": "points",
    }
    assert notification_glance(b'{"user_id": {"id": 1}, "amount": [1], "transaction_id": ""}') == {}
    for unreadable in (b"", b"\xff", b"[1]", b'{"a": 1, "a": 2}', b"[" * 100_000, b'{"amount": NaN}'):
        assert notification_glance(unreadable) == {}
