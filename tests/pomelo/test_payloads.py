"""Lenient parsing of Pomelo's payloads, and the exact encoding of amounts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pomelo import balances_from_payload, encode_movement_body, format_amount
from pomelo.errors import parse_error_body

TYPES = ["points", "cashback", "miles"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"points": 10, "cashback": "2.50"}, {"points": "10", "cashback": "2.50"}),
        (
            {"user_id": "usr-1", "balances": {"points": "123.00", "miles": Decimal("0.00")}},
            {"points": "123.00", "miles": "0.00"},
        ),
        (
            {
                "balances": [
                    {"account_type": "points", "balance": "5"},
                    {"account_type": "cashback", "amount": Decimal("1.25")},
                    {"type": "miles", "available": 7},
                ]
            },
            {"points": "5", "cashback": "1.25", "miles": "7"},
        ),
        ({"accounts": {"Points": {"balance": "9.10", "pending": "1"}}}, {"points": "9.10"}),
        ({"data": {"accounts": [{"accountType": "stars", "value": "3"}]}}, {"stars": "3"}),
        ([{"account_type": "points", "balance": "1"}], {"points": "1"}),
        ({"points": 0.1}, {"points": "0.1"}),
    ],
)
def test_balances_from_payload_reads_known_shapes(payload, expected):
    result = balances_from_payload(payload, account_types=TYPES)

    assert result == {k: Decimal(v) for k, v in expected.items()}
    # Exact digits, not just equal values: "2.50" must not become "2.5".
    assert {k: str(v) for k, v in result.items()} == expected


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "points",
        {},
        {"user_id": "usr-1", "card_last_four": "1234", "total": "99"},
        {"points": "not a number", "cashback": True, "miles": None},
        {"points": "NaN", "cashback": "Infinity"},
        {"balances": [{"balance": "5"}]},
    ],
)
def test_balances_from_payload_ignores_what_is_not_a_balance(payload):
    assert balances_from_payload(payload, account_types=TYPES) == {}


def test_balances_from_payload_defaults_to_the_configured_account_types(settings):
    settings.POMELO_ACCOUNT_TYPES = ["stars"]

    assert balances_from_payload({"stars": "4", "points": "5"}) == {"stars": Decimal("4")}


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ('{"error": {"error_code": "E1", "message": "Bad card"}}', "E1", "Bad card"),
        ('{"error": {"error_code": "E2", "details": "amount invalid"}}', "E2", "amount invalid"),
        ('{"error": {"code": "E3", "details": {"amount": "required"}}}', "E3", None),
        ('{"message": "Something failed"}', None, "Something failed"),
        ('{"error": "invalid_client", "error_description": "nope"}', "invalid_client", "nope"),
        ('{"detail": "Not found."}', None, "Not found."),
        ("Service   temporarily\nunavailable", None, "Service temporarily unavailable"),
        ("<html><body>502</body></html>", None, None),
        ("", None, None),
        ("[]", None, None),
        ('"Upstream timeout"', None, "Upstream timeout"),
    ],
)
def test_parse_error_body_is_lenient(body, code, message):
    parsed_code, parsed_message = parse_error_body(body)

    assert parsed_code == code
    if message is None and code == "E3":
        assert json.loads(parsed_message) == {"amount": "required"}
    else:
        assert parsed_message == message


def test_parse_error_body_shortens_long_messages():
    _, message = parse_error_body(json.dumps({"message": "x" * 5000}))

    assert len(message) == 300


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1000.50"), "1000.50"),
        (Decimal("0.01"), "0.01"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.000"), "1.000"),
        (Decimal("123456789012345.67"), "123456789012345.67"),
    ],
)
def test_format_amount_keeps_the_digits(amount, text):
    assert format_amount(amount) == text


@given(
    st.decimals(
        min_value=Decimal("0.000001"),
        max_value=Decimal("1000000000000"),
        allow_nan=False,
        allow_infinity=False,
        places=None,
    ),
    st.sampled_from(["number", "string"]),
    st.text(max_size=40),
)
def test_encoded_body_carries_the_amount_exactly(amount, amount_format, reason):
    body = encode_movement_body(amount=amount, reason=reason, card_id="crd-1", amount_format=amount_format)

    parsed = json.loads(body, parse_float=Decimal)
    assert parsed["reason"] == reason
    assert parsed["card_id"] == "crd-1"
    sent = parsed["amount"]
    if amount_format == "string":
        assert isinstance(sent, str)
    else:
        assert isinstance(sent, Decimal | int)
    assert Decimal(sent) == amount
    assert str(sent) == format(amount, "f")
