"""The Pomelo client against the stand-in Pomelo, over real HTTP."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.test import override_settings

from pomelo import (
    PomeloAuthenticationError,
    PomeloClient,
    PomeloInsufficientBalance,
    PomeloInvalidRequest,
    PomeloNotFound,
    PomeloUnavailable,
    balances_from_payload,
)


@pytest.fixture
def member(sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1", "crd-2"], balances={"points": "120.00", "cashback": "4.50"})
    return sandbox_pomelo


def test_balance_by_card_and_by_user(member):
    client = PomeloClient.from_settings()

    by_card = client.balance(card_id="crd-2")
    by_user = client.balance(user_id="usr-1")

    expected = {"points": Decimal("120.00"), "cashback": Decimal("4.50"), "miles": Decimal("0")}
    assert balances_from_payload(by_card.data) == expected
    assert balances_from_payload(by_user.data) == expected
    assert by_card.data["user_id"] == "usr-1"
    assert by_card.status_code == 200
    assert by_card.attempts == 1
    assert by_card.request == {
        "method": "GET",
        "url": f"{member.url}/loyalty/v1/accounts/balance?card_id=crd-2",
        "body": None,
        "idempotency_key": None,
    }
    assert json.loads(by_card.raw_body)["data"]["balances"]["points"] == "120.00"


def test_balance_unknown_card_or_user_is_not_found(member):
    client = PomeloClient.from_settings()

    with pytest.raises(PomeloNotFound) as by_card:
        client.balance(card_id="crd-unknown")
    with pytest.raises(PomeloNotFound) as by_user:
        client.balance(user_id="usr-unknown")

    assert by_card.value.status_code == 404
    assert by_card.value.pomelo_code == "CARD_NOT_FOUND"
    assert "crd-unknown" in by_card.value.message
    assert by_user.value.pomelo_code == "USER_NOT_FOUND"
    assert not by_card.value.transient


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"card_id": "crd-1", "user_id": "usr-1"}, {"card_id": ""}, {"user_id": "  "}],
)
def test_balance_needs_exactly_one_identifier(member, kwargs):
    client = PomeloClient.from_settings()

    with pytest.raises(ValueError):
        client.balance(**kwargs)

    # Refused before any request: the stand-in never issued a token.
    assert member.state()["tokens_issued"] == 0


def test_mint_credits_once_and_returns_the_exchange(member):
    client = PomeloClient.from_settings()

    response = client.mint(
        account_type="points",
        card_id="crd-1",
        amount=Decimal("1000.50"),
        reason="Goodwill credit",
        idempotency_key="adj-1-mint",
    )

    assert response.status_code == 200
    assert response.data["balance"] == "1120.50"
    assert response.request["method"] == "POST"
    assert response.request["url"] == f"{member.url}/loyalty/v1/accounts/points/mint"
    assert response.request["idempotency_key"] == "adj-1-mint"
    assert '"amount": 1000.50' in response.request["body"]
    assert "Bearer" not in json.dumps(response.request)
    assert member.balances("usr-1")["points"] == Decimal("1120.50")
    effects = member.effects("adj-1-mint")
    assert effects["count"] == 1
    assert effects["effects"][0]["amount"] == "1000.50"


def test_burn_debits(member):
    client = PomeloClient.from_settings()

    response = client.burn(
        account_type="cashback",
        card_id="crd-2",
        amount=Decimal("4.25"),
        reason="Correction",
        idempotency_key="adj-2-burn",
    )

    assert response.data["balance"] == "0.25"
    assert member.balances("usr-1")["cashback"] == Decimal("0.25")


def test_burn_above_balance_is_insufficient_balance(member):
    client = PomeloClient.from_settings()

    with pytest.raises(PomeloInsufficientBalance) as raised:
        client.burn(
            account_type="points",
            card_id="crd-1",
            amount=Decimal("120.01"),
            reason="Too much",
            idempotency_key="adj-3-burn",
        )

    error = raised.value
    assert error.status_code == 422
    assert error.pomelo_code == "INSUFFICIENT_BALANCE"
    assert "lower than the amount" in error.message
    assert json.loads(error.raw_body)["error"]["error_code"] == "INSUFFICIENT_BALANCE"
    assert error.request["idempotency_key"] == "adj-3-burn"
    assert error.attempts == 1
    assert not error.transient
    assert member.balances("usr-1")["points"] == Decimal("120.00")


def test_mint_to_unknown_card_is_invalid_request(member):
    client = PomeloClient.from_settings()

    with pytest.raises(PomeloInvalidRequest) as raised:
        client.mint(
            account_type="points",
            card_id="crd-nobody",
            amount=Decimal("1"),
            reason="x",
            idempotency_key="adj-4",
        )

    assert raised.value.pomelo_code == "CARD_NOT_FOUND"


@pytest.mark.parametrize("fault", ["fail_next", "drop_next"])
def test_mint_retried_after_a_failure_reaches_pomelo_once(member, fault):
    member.set_faults(**{fault: 1})
    client = PomeloClient.from_settings()

    response = client.mint(
        account_type="points",
        card_id="crd-1",
        amount=Decimal("10"),
        reason="Retry me",
        idempotency_key="adj-5-mint",
    )

    assert response.attempts == 2
    assert member.state()["faults"]["injected"] == 1
    assert member.effects("adj-5-mint")["count"] == 1
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_mint_whose_answer_was_lost_is_not_applied_twice(member):
    # The dangerous case: Pomelo applied the credit, the answer never arrived, we retry.
    member.set_faults(drop_after_apply_next=1)
    client = PomeloClient.from_settings()

    response = client.mint(
        account_type="points",
        card_id="crd-1",
        amount=Decimal("10"),
        reason="Lost answer",
        idempotency_key="adj-6-mint",
    )

    effects = member.effects("adj-6-mint")
    assert response.attempts == 2
    assert effects["requests"] == 2
    assert effects["replays"] == 1
    assert effects["count"] == 1
    assert response.data["transaction_id"] == effects["effects"][0]["transaction_id"]
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_mint_after_read_timeout_is_retried_and_applied_once(member):
    # The first request is slow and the client gives up on it; the stand-in still applies it
    # later. The retry carries the same key, so only one credit exists either way.
    member.set_faults(delay_ms=800, delay_next=1)
    with override_settings(POMELO_READ_TIMEOUT_SECONDS=0.3):
        client = PomeloClient.from_settings()
        response = client.mint(
            account_type="points",
            card_id="crd-1",
            amount=Decimal("10"),
            reason="Slow Pomelo",
            idempotency_key="adj-7-mint",
        )

    assert response.attempts == 2
    # Wait for the slow first request to finish at the stand-in, then count.
    deadline = time.monotonic() + 5
    while member.effects("adj-7-mint")["requests"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    effects = member.effects("adj-7-mint")
    assert effects["requests"] == 2
    assert effects["count"] == 1
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_same_key_with_a_different_body_is_refused(member):
    client = PomeloClient.from_settings()
    client.mint(
        account_type="points",
        card_id="crd-1",
        amount=Decimal("10"),
        reason="First",
        idempotency_key="adj-8",
    )

    with pytest.raises(PomeloInvalidRequest) as raised:
        client.mint(
            account_type="points",
            card_id="crd-1",
            amount=Decimal("11"),
            reason="First",
            idempotency_key="adj-8",
        )

    assert raised.value.status_code == 409
    assert raised.value.pomelo_code == "IDEMPOTENCY_KEY_REUSED"
    effects = member.effects("adj-8")
    assert effects["count"] == 1
    assert effects["conflicts"] == 1
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_same_key_and_body_replays_the_first_answer(member):
    client = PomeloClient.from_settings()
    kwargs = {
        "account_type": "points",
        "card_id": "crd-1",
        "amount": Decimal("10"),
        "reason": "Twice",
        "idempotency_key": "adj-9",
    }

    first = client.mint(**kwargs)
    second = client.mint(**kwargs)

    assert second.raw_body == first.raw_body
    assert member.effects("adj-9")["count"] == 1
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_retries_exhausted_raise_unavailable(member):
    member.set_faults(fail_next=10, fail_status=503)
    with override_settings(POMELO_MAX_RETRIES=2):
        client = PomeloClient.from_settings()
        with pytest.raises(PomeloUnavailable) as raised:
            client.balance(user_id="usr-1")

    assert raised.value.attempts == 3
    assert raised.value.status_code == 503
    assert raised.value.transient
    assert member.state()["faults"]["fail_next"] == 7


def test_token_is_fetched_once_and_shared_by_clients(member):
    with PomeloClient.from_settings() as first, PomeloClient.from_settings() as second:
        first.balance(user_id="usr-1")
        second.balance(card_id="crd-1")

    assert member.state()["tokens_issued"] == 1


def test_revoked_token_is_replaced_and_the_call_repeated(member):
    client = PomeloClient.from_settings()
    client.balance(user_id="usr-1")
    member.revoke_tokens()

    response = client.balance(user_id="usr-1")

    assert response.attempts == 2
    assert member.state()["tokens_issued"] == 2


def test_a_token_pomelo_refuses_is_revoked_then_replaced(member):
    # Pomelo hands back the same token until it expires: only revoking it gets a new one.
    client = PomeloClient.from_settings()
    client.balance(user_id="usr-1")
    member.reject_tokens()

    response = client.balance(user_id="usr-1")

    assert response.attempts == 2
    state = member.state()
    assert (state["tokens_issued"], state["tokens_revoked"]) == (2, 1)
    # The new token is the one every process now shares.
    PomeloClient.from_settings().balance(card_id="crd-1")
    assert member.state()["tokens_issued"] == 2


def test_a_mint_refused_for_its_token_is_applied_once_with_the_new_token(member):
    client = PomeloClient.from_settings()
    client.balance(user_id="usr-1")
    member.reject_tokens()

    response = client.mint(
        account_type="points", card_id="crd-1", amount=Decimal("10.00"), reason="Goodwill",
        idempotency_key="adj-401",
    )

    assert response.attempts == 2
    assert member.effects("adj-401")["count"] == 1
    assert member.balances("usr-1")["points"] == Decimal("130.00")


def test_credentials_pomelo_keeps_refusing_end_in_an_authentication_error(member):
    client = PomeloClient.from_settings()
    client.balance(user_id="usr-1")
    member.reject_tokens()
    # Revoking fails (a wrong revoke URL), so Pomelo hands back the refused token: one retry,
    # no loop, and the caller learns the credentials are refused.
    client.tokens.revoke_url = f"{member.url}/oauth/token/revoke-nowhere"

    with pytest.raises(PomeloAuthenticationError) as raised:
        client.balance(user_id="usr-1")

    assert raised.value.status_code == 401 and raised.value.attempts == 2
    assert member.state()["tokens_revoked"] == 0


def test_wrong_client_secret_is_an_authentication_error(member):
    with override_settings(POMELO_CLIENT_SECRET="not-the-secret"):
        client = PomeloClient.from_settings()
        with pytest.raises(PomeloAuthenticationError) as raised:
            client.balance(user_id="usr-1")

    assert raised.value.status_code == 401
    assert raised.value.pomelo_code == "INVALID_CLIENT"
    assert "not-the-secret" not in raised.value.raw_body
    assert "not-the-secret" not in json.dumps(raised.value.request)
