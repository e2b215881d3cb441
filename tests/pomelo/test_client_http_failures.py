"""Failure paths of the Pomelo client, with the HTTP boundary faked by `responses`."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from responses import matchers

from pomelo import (
    PomeloAuthenticationError,
    PomeloClient,
    PomeloError,
    PomeloInsufficientBalance,
    PomeloInvalidRequest,
    PomeloNotFound,
    PomeloUnavailable,
    TokenProvider,
)
from pomelo.auth import cache_seconds_for

BASE = "https://pomelo.test"
TOKEN_URL = "https://auth.pomelo.test/oauth/token"
# Not configured in these tests: it defaults next to the token URL.
REVOKE_URL = "https://auth.pomelo.test/oauth/token/revoke"
BALANCE_URL = f"{BASE}/loyalty/v1/accounts/balance"
MINT_URL = f"{BASE}/loyalty/v1/accounts/points/mint"
SECRET = "client-secret-value"


@pytest.fixture(autouse=True)
def pomelo_settings():
    with override_settings(
        POMELO_BASE_URL=BASE,
        POMELO_TOKEN_URL=TOKEN_URL,
        POMELO_CLIENT_ID="client-id-value",
        POMELO_CLIENT_SECRET=SECRET,
        POMELO_AUDIENCE="https://audience.test",
        POMELO_CONNECT_TIMEOUT_SECONDS=1.5,
        POMELO_READ_TIMEOUT_SECONDS=4.0,
        POMELO_MAX_RETRIES=3,
        POMELO_RETRY_BACKOFF_SECONDS=0.001,
    ):
        cache.clear()
        yield
        cache.clear()


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def add_tokens(rsps, *tokens: str, expires_in: object = 3600) -> None:
    for token in tokens or ("tok-1",):
        body = {"access_token": token, "token_type": "Bearer"}
        if expires_in is not None:
            body["expires_in"] = expires_in
        rsps.post(TOKEN_URL, json=body)


def api_calls(rsps, url_prefix: str = BASE) -> list:
    return [c for c in rsps.calls if c.request.url.startswith(url_prefix)]


def token_calls(rsps) -> list:
    return [c for c in rsps.calls if c.request.url == TOKEN_URL]


def revoke_calls(rsps, url: str = REVOKE_URL) -> list:
    return [c for c in rsps.calls if c.request.url == url]


def mint(client: PomeloClient, **overrides):
    kwargs = {
        "account_type": "points",
        "card_id": "crd-1",
        "amount": Decimal("1000.50"),
        "reason": "Goodwill",
        "idempotency_key": "adj-42",
    }
    kwargs.update(overrides)
    return client.mint(**kwargs)


BALANCE_BODY = {"data": {"user_id": "usr-1", "balances": {"points": "10.00"}}}


# --- OAuth tokens ---------------------------------------------------------------------------


def test_token_request_is_client_credentials_json(rsps):
    rsps.post(
        TOKEN_URL,
        json={"access_token": "tok-1", "expires_in": 3600},
        match=[
            matchers.json_params_matcher(
                {
                    "client_id": "client-id-value",
                    "client_secret": SECRET,
                    "audience": "https://audience.test",
                    "grant_type": "client_credentials",
                }
            )
        ],
    )
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    PomeloClient.from_settings().balance(user_id="usr-1")

    assert api_calls(rsps)[0].request.headers["Authorization"] == "Bearer tok-1"


@pytest.mark.parametrize("expires_in", [3600, None])
def test_token_is_reused_from_the_cache_across_clients(rsps, expires_in):
    add_tokens(rsps, "tok-1", "tok-2", expires_in=expires_in)
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    PomeloClient.from_settings().balance(user_id="usr-1")
    PomeloClient.from_settings().balance(card_id="crd-1")

    assert len(token_calls(rsps)) == 1
    assert [c.request.headers["Authorization"] for c in api_calls(rsps)] == ["Bearer tok-1"] * 2


def test_token_is_refreshed_shortly_before_it_expires(rsps):
    # A 2 s token is kept for int(2 - 0.2) = 1 s, then fetched again.
    add_tokens(rsps, "tok-1", "tok-2", expires_in=2)
    rsps.get(BALANCE_URL, json=BALANCE_BODY)
    client = PomeloClient.from_settings()

    client.balance(user_id="usr-1")
    client.balance(user_id="usr-1")
    time.sleep(1.1)
    client.balance(user_id="usr-1")

    headers = [c.request.headers["Authorization"] for c in api_calls(rsps)]
    assert headers == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


@pytest.mark.parametrize(
    ("expires_in", "kept"),
    [(86400, 86340), (3600, 3540), (600, 540), (30, 27), (1, 0), (0, 0), (-5, 0)],
)
def test_cache_lifetime_leaves_a_margin_before_expiry(expires_in, kept):
    assert cache_seconds_for(expires_in) == kept


def test_invalidate_only_drops_the_token_it_names(rsps):
    add_tokens(rsps, "tok-1", "tok-2")
    provider = TokenProvider.from_settings()
    assert provider.get_token() == "tok-1"

    provider.invalidate("some-older-token")
    assert provider.get_token() == "tok-1"

    provider.invalidate("tok-1")
    assert provider.get_token() == "tok-2"
    assert len(token_calls(rsps)) == 2


def test_401_revokes_the_token_then_fetches_a_new_one_and_repeats_once(rsps):
    add_tokens(rsps, "tok-1", "tok-2")
    rsps.post(REVOKE_URL, status=200, body="")
    rsps.get(BALANCE_URL, status=401, json={"error": {"error_code": "UNAUTHORIZED"}})
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    response = PomeloClient.from_settings().balance(user_id="usr-1")

    assert response.attempts == 2
    # Revoked before the new fetch: Pomelo would otherwise hand back tok-1 again.
    assert [c.request.url.split("?")[0] for c in rsps.calls] == [
        TOKEN_URL, BALANCE_URL, REVOKE_URL, TOKEN_URL, BALANCE_URL,
    ]
    (revoke,) = revoke_calls(rsps)
    assert json.loads(revoke.request.body) == {
        "client_id": "client-id-value",
        "client_secret": SECRET,
        "audience": "https://audience.test",
        "token": "tok-1",
        "token_type_hint": "access_token",
    }
    assert revoke.request.headers["Authorization"] == "Bearer tok-1"
    headers = [c.request.headers["Authorization"] for c in api_calls(rsps)]
    assert headers == ["Bearer tok-1", "Bearer tok-2"]
    # The fresh token is what the cache now holds.
    PomeloClient.from_settings().balance(user_id="usr-1")
    assert api_calls(rsps)[-1].request.headers["Authorization"] == "Bearer tok-2"
    assert len(token_calls(rsps)) == 2


def test_the_revoke_url_and_body_format_are_settings(rsps):
    add_tokens(rsps, "tok-1", "tok-2")
    revoke_url = "https://other-auth.pomelo.test/oauth/revoke"
    rsps.post(revoke_url, status=200, json={})
    rsps.get(BALANCE_URL, status=401, json={})
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    with override_settings(POMELO_TOKEN_REVOKE_URL=revoke_url, POMELO_TOKEN_REVOKE_FORMAT="form"):
        PomeloClient.from_settings().balance(user_id="usr-1")

    (revoke,) = revoke_calls(rsps, revoke_url)
    assert revoke.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(revoke.request.body)["token"] == ["tok-1"]


def test_an_unknown_revoke_format_is_a_configuration_error():
    with override_settings(POMELO_TOKEN_REVOKE_FORMAT="xml"), pytest.raises(ImproperlyConfigured):
        TokenProvider.from_settings()


@pytest.mark.parametrize(
    "revoke_answer",
    [
        {"status": 500, "body": "down"},
        {"status": 404, "json": {}},
        {"body": requests.ConnectionError("refused")},
    ],
    ids=["500", "404", "unreachable"],
)
def test_a_failed_revoke_is_logged_and_the_call_still_repeated_once(rsps, caplog, revoke_answer):
    add_tokens(rsps, "tok-1", "tok-2")
    rsps.post(REVOKE_URL, **revoke_answer)
    rsps.get(BALANCE_URL, status=401, json={})
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    response = PomeloClient.from_settings().balance(user_id="usr-1")

    assert response.attempts == 2
    assert len(revoke_calls(rsps)) == 1
    assert any(REVOKE_URL in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_a_token_another_process_already_replaced_is_not_revoked(rsps):
    # Process A got a 401 for tok-1 and cached tok-2; process B's 401 for tok-1 arrives later.
    # Revoking again could drop tok-2 at Pomelo, so B just uses the cached tok-2.
    add_tokens(rsps, "tok-2")
    rsps.get(BALANCE_URL, json=BALANCE_BODY)
    provider = TokenProvider.from_settings()
    assert provider.get_token() == "tok-2"

    provider.reject("tok-1")

    assert provider.get_token() == "tok-2"
    assert revoke_calls(rsps) == []
    assert len(token_calls(rsps)) == 1


def test_a_second_401_is_an_authentication_error(rsps):
    add_tokens(rsps, "tok-1", "tok-2", "tok-3")
    rsps.post(REVOKE_URL, status=200, body="")
    rsps.get(
        BALANCE_URL,
        status=401,
        json={"error": {"error_code": "UNAUTHORIZED", "message": "Invalid token"}},
    )

    with pytest.raises(PomeloAuthenticationError) as raised:
        PomeloClient.from_settings().balance(user_id="usr-1")

    assert raised.value.message == "Invalid token"
    assert raised.value.attempts == 2
    assert len(api_calls(rsps)) == 2
    assert len(token_calls(rsps)) == 2
    assert len(revoke_calls(rsps)) == 1  # once: no loop of revoke and fetch


def test_refused_credentials_are_an_authentication_error(rsps):
    rsps.post(
        TOKEN_URL,
        status=401,
        json={"error": "access_denied", "error_description": "Unauthorized"},
    )

    with pytest.raises(PomeloAuthenticationError) as raised:
        mint(PomeloClient.from_settings())

    error = raised.value
    assert (error.status_code, error.pomelo_code, error.message) == (
        401,
        "access_denied",
        "Unauthorized",
    )
    # No loyalty request was sent, and the error still says which operation failed.
    assert error.attempts == 0
    assert error.request["idempotency_key"] == "adj-42"
    assert api_calls(rsps) == []


def test_token_endpoint_outage_is_retried_then_unavailable(rsps):
    rsps.post(TOKEN_URL, status=503, body="upstream down")

    with override_settings(POMELO_MAX_RETRIES=2):
        with pytest.raises(PomeloUnavailable) as raised:
            PomeloClient.from_settings().balance(user_id="usr-1")

    assert len(token_calls(rsps)) == 3
    assert raised.value.message == "upstream down"
    assert raised.value.transient


def test_token_answer_without_access_token_is_refused(rsps):
    rsps.post(TOKEN_URL, json={"token": "somewhere-else"})

    with pytest.raises(PomeloAuthenticationError) as raised:
        PomeloClient.from_settings().balance(user_id="usr-1")

    assert "access_token" in raised.value.message
    assert "somewhere-else" not in raised.value.raw_body


def test_an_unreachable_token_endpoint_keeps_the_network_error_as_the_cause(rsps):
    # Tracebacks and error pages show what actually failed underneath.
    rsps.post(TOKEN_URL, body=requests.ConnectionError("connection refused"))

    with override_settings(POMELO_MAX_RETRIES=0):
        with pytest.raises(PomeloUnavailable) as raised:
            PomeloClient.from_settings().balance(user_id="usr-1")

    assert isinstance(raised.value.__cause__, requests.ConnectionError)


# --- retries --------------------------------------------------------------------------------


def test_retries_keep_the_same_idempotency_key_and_body(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=500, body="oops")
    rsps.post(MINT_URL, status=503, headers={"Retry-After": "0"}, json={})
    rsps.post(MINT_URL, status=429, json={"message": "slow down"})
    rsps.post(MINT_URL, json={"data": {"balance": 1010.50}})

    response = mint(PomeloClient.from_settings())

    calls = api_calls(rsps)
    assert len(calls) == 4
    assert {c.request.headers["x-idempotency-key"] for c in calls} == {"adj-42"}
    assert len({c.request.body for c in calls}) == 1
    assert response.attempts == 4
    assert response.data == {"balance": Decimal("1010.50")}


def test_connection_errors_are_retried_with_the_same_key(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, body=requests.ConnectionError("reset by peer"))
    rsps.post(MINT_URL, json={"data": {}})

    response = mint(PomeloClient.from_settings())

    assert response.attempts == 2
    assert [c.request.headers["x-idempotency-key"] for c in api_calls(rsps)] == ["adj-42"] * 2


def test_retries_are_bounded_by_the_setting(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=502, body="<html><body>Bad gateway</body></html>")

    with override_settings(POMELO_MAX_RETRIES=2):
        with pytest.raises(PomeloUnavailable) as raised:
            mint(PomeloClient.from_settings())

    error = raised.value
    assert len(api_calls(rsps)) == 3
    assert error.attempts == 3
    assert error.status_code == 502
    assert error.message == "Pomelo answered 502 Bad Gateway."
    assert error.raw_body == "<html><body>Bad gateway</body></html>"
    assert error.transient


def test_no_retry_when_max_retries_is_zero(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=500, json={})

    with override_settings(POMELO_MAX_RETRIES=0):
        with pytest.raises(PomeloUnavailable):
            mint(PomeloClient.from_settings())

    assert len(api_calls(rsps)) == 1


@pytest.mark.parametrize(
    ("exception", "words"),
    [
        (requests.ReadTimeout("read timed out"), "no answer within the read timeout"),
        (requests.ConnectTimeout("connect timed out"), "connecting timed out"),
        (requests.ConnectionError("refused"), "the connection failed or was dropped"),
    ],
)
def test_timeouts_end_as_unavailable_after_retries(rsps, exception, words):
    add_tokens(rsps)
    rsps.post(MINT_URL, body=exception)

    with pytest.raises(PomeloUnavailable) as raised:
        mint(PomeloClient.from_settings())

    error = raised.value
    calls = api_calls(rsps)
    assert len(calls) == 4  # 1 + POMELO_MAX_RETRIES
    assert {c.request.headers["x-idempotency-key"] for c in calls} == {"adj-42"}
    assert error.attempts == 4
    assert error.transient
    assert error.status_code is None
    assert words in error.message
    assert error.request["idempotency_key"] == "adj-42"


def test_timeouts_come_from_settings(rsps):
    add_tokens(rsps)
    rsps.get(BALANCE_URL, json=BALANCE_BODY)

    PomeloClient.from_settings().balance(user_id="usr-1")

    assert [c.request.req_kwargs["timeout"] for c in rsps.calls] == [(1.5, 4.0), (1.5, 4.0)]


def test_redirects_are_not_followed(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=302, headers={"Location": f"{BASE}/elsewhere"})

    with pytest.raises(PomeloError) as raised:
        mint(PomeloClient.from_settings())

    assert raised.value.status_code == 302
    assert not raised.value.transient
    assert len(api_calls(rsps)) == 1


# --- response parsing -----------------------------------------------------------------------


def test_bare_object_and_wrapped_data_are_both_accepted(rsps):
    add_tokens(rsps)
    rsps.get(BALANCE_URL, body='{"points": 0.1, "cashback": "2.50"}')
    rsps.get(BALANCE_URL, body='{"data": {"points": 12.30}}')
    client = PomeloClient.from_settings()

    bare = client.balance(user_id="usr-1")
    wrapped = client.balance(user_id="usr-1")

    # parse_float=Decimal: no float rounding, trailing zeros kept.
    assert bare.data == {"points": Decimal("0.1"), "cashback": "2.50"}
    assert str(wrapped.data["points"]) == "12.30"
    assert wrapped.raw_body == '{"data": {"points": 12.30}}'


@pytest.mark.parametrize("body", ["<html>maintenance</html>", "[1, 2]", "", '"ok"'])
def test_balance_that_is_not_a_json_object_is_an_error(rsps, body):
    add_tokens(rsps)
    rsps.get(BALANCE_URL, body=body, status=200)

    with pytest.raises(PomeloError) as raised:
        PomeloClient.from_settings().balance(user_id="usr-1")

    assert type(raised.value) is PomeloError
    assert raised.value.status_code == 200
    assert raised.value.raw_body == body
    assert not raised.value.transient


def test_mint_answered_2xx_with_an_odd_body_is_still_a_success(rsps):
    # The movement happened; raising would invite a pointless retry and show a false failure.
    add_tokens(rsps)
    rsps.post(MINT_URL, body="Created", status=201)

    response = mint(PomeloClient.from_settings())

    assert (response.status_code, response.data, response.raw_body) == (201, {}, "Created")


@pytest.mark.parametrize(
    ("status", "body", "error_class", "code", "message"),
    [
        (
            400,
            {"error": {"error_code": "INVALID_AMOUNT", "details": "amount too small"}},
            PomeloInvalidRequest,
            "INVALID_AMOUNT",
            "amount too small",
        ),
        (
            400,
            {"error": {"error_code": "VALIDATION", "details": [{"field": "amount"}]}},
            PomeloInvalidRequest,
            "VALIDATION",
            '[{"field": "amount"}]',
        ),
        (
            403,
            {"message": "Client not allowed"},
            PomeloAuthenticationError,
            None,
            "Client not allowed",
        ),
        (
            404,
            {"error": {"error_code": "CARD_NOT_FOUND", "message": "no such card"}},
            PomeloNotFound,
            "CARD_NOT_FOUND",
            "no such card",
        ),
        (
            409,
            {"error": {"error_code": "CONFLICT"}},
            PomeloInvalidRequest,
            "CONFLICT",
            "Pomelo answered 409 Conflict.",
        ),
        (
            422,
            {"error": {"error_code": "INSUFFICIENT_BALANCE", "message": "not enough"}},
            PomeloInsufficientBalance,
            "INSUFFICIENT_BALANCE",
            "not enough",
        ),
        (
            400,
            {"message": "Insufficient funds"},
            PomeloInsufficientBalance,
            None,
            "Insufficient funds",
        ),
        (418, "I'm a teapot", PomeloInvalidRequest, None, "I'm a teapot"),
    ],
)
def test_4xx_answers_map_to_typed_errors_without_retry(rsps, status, body, error_class, code, message):
    add_tokens(rsps)
    if isinstance(body, dict):
        rsps.post(MINT_URL, status=status, json=body)
        raw = json.dumps(body)
    else:
        rsps.post(MINT_URL, status=status, body=body)
        raw = body

    with pytest.raises(error_class) as raised:
        mint(PomeloClient.from_settings())

    error = raised.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.pomelo_code == code
    assert error.message == message
    assert error.raw_body == raw
    assert not error.transient
    assert error.attempts == 1
    assert len(api_calls(rsps)) == 1


def test_error_without_a_message_is_described_in_plain_words(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=400, body="")

    with pytest.raises(PomeloInvalidRequest) as raised:
        mint(PomeloClient.from_settings())

    assert raised.value.message == "Pomelo answered 400 Bad Request."


# --- the request we send --------------------------------------------------------------------


def test_amount_is_sent_exactly_as_a_json_number(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, json={"data": {}})

    response = mint(PomeloClient.from_settings(), amount=Decimal("1000.50"))

    sent = api_calls(rsps)[0].request
    assert sent.body == b'{"amount": 1000.50, "reason": "Goodwill", "card_id": "crd-1"}'
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["x-idempotency-key"] == "adj-42"
    assert response.request == {
        "method": "POST",
        "url": MINT_URL,
        "body": '{"amount": 1000.50, "reason": "Goodwill", "card_id": "crd-1"}',
        "idempotency_key": "adj-42",
    }


def test_amount_can_be_sent_as_a_string(rsps):
    add_tokens(rsps)
    rsps.post(f"{BASE}/loyalty/v1/accounts/cashback/burn", json={"data": {}})

    with override_settings(POMELO_AMOUNT_FORMAT="string"):
        PomeloClient.from_settings().burn(
            account_type="cashback",
            card_id="crd-1",
            amount=Decimal("0.10"),
            reason='Say "hi"',
            idempotency_key="adj-43",
        )

    body = api_calls(rsps)[0].request.body
    assert body == b'{"amount": "0.10", "reason": "Say \\"hi\\"", "card_id": "crd-1"}'


def test_unknown_amount_format_is_a_configuration_error():
    with override_settings(POMELO_AMOUNT_FORMAT="float"):
        with pytest.raises(ImproperlyConfigured):
            PomeloClient.from_settings()


@pytest.mark.parametrize(
    "amount",
    [
        10.5,
        10,
        "10.50",
        Decimal("0"),
        Decimal("-0"),
        Decimal("-1.00"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
    ],
)
def test_bad_amounts_are_refused_before_any_request(rsps, amount):
    with pytest.raises(ValueError):
        mint(PomeloClient.from_settings(), amount=amount)

    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"account_type": "stars"},
        {"account_type": "Points"},
        {"card_id": ""},
        {"reason": " "},
        {"idempotency_key": ""},
        {"idempotency_key": " adj-1"},
        {"idempotency_key": "adj\n1"},
        {"idempotency_key": None},
    ],
)
def test_bad_arguments_are_refused_before_any_request(rsps, overrides):
    with pytest.raises(ValueError):
        mint(PomeloClient.from_settings(), **overrides)

    assert len(rsps.calls) == 0


def test_logs_never_hold_the_token_or_the_secret(rsps, caplog):
    add_tokens(rsps, "tok-secret-1", "tok-secret-2")
    rsps.post(REVOKE_URL, status=400, json={"error": "invalid_request"})
    rsps.post(MINT_URL, status=401, json={"error": {"error_code": "UNAUTHORIZED"}})
    rsps.post(MINT_URL, status=500, json={})
    rsps.post(MINT_URL, json={"data": {"ok": True}})

    with caplog.at_level(logging.DEBUG, logger="pomelo"):
        response = mint(PomeloClient.from_settings())

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "adj-42" in logged  # the exchange is logged ...
    assert MINT_URL in logged and REVOKE_URL in logged
    for secret in ("tok-secret-1", "tok-secret-2", SECRET):  # ... without credentials
        assert secret not in logged
        assert secret not in json.dumps(response.request)


# --- Retries bounded by the caller (the idempotency window) --------------------------------


def test_no_retry_starts_after_retry_until(rsps):
    # Pomelo is trusted to remember the key only until then: a retry after it could apply twice.
    add_tokens(rsps)
    rsps.post(MINT_URL, status=503, json={})
    deadline = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(PomeloUnavailable) as caught:
        mint(PomeloClient.from_settings(), retry_until=deadline)
    assert len(api_calls(rsps)) == 1 and caught.value.attempts == 1


def test_retries_continue_while_retry_until_is_ahead(rsps):
    add_tokens(rsps)
    rsps.post(MINT_URL, status=503, json={})
    rsps.post(MINT_URL, json={"data": {"id": "mv-1"}})
    response = mint(PomeloClient.from_settings(), retry_until=datetime.now(UTC) + timedelta(minutes=5))
    assert response.status_code == 200 and len(api_calls(rsps)) == 2


def test_no_repeat_after_a_401_past_retry_until(rsps):
    add_tokens(rsps, "tok-1", "tok-2")
    rsps.post(MINT_URL, status=401, json={})
    with pytest.raises(PomeloAuthenticationError):
        mint(PomeloClient.from_settings(), retry_until=datetime.now(UTC) - timedelta(seconds=1))
    assert len(api_calls(rsps)) == 1


def test_errors_count_the_attempts_that_may_have_reached_pomelo(rsps):
    # A timeout and a 500 may have been applied; a 429 was not processed. The final refusal then
    # does not prove that nothing was applied.
    add_tokens(rsps)
    rsps.post(MINT_URL, body=requests.ReadTimeout("read timed out"))
    rsps.post(MINT_URL, status=429, json={})
    rsps.post(MINT_URL, status=500, json={})
    rsps.post(MINT_URL, status=422, json={"error": {"error_code": "INSUFFICIENT_BALANCE"}})
    with pytest.raises(PomeloInsufficientBalance) as caught:
        mint(PomeloClient.from_settings())
    assert caught.value.attempts == 4 and caught.value.uncertain_attempts == 2
    rsps.replace(responses.POST, MINT_URL, status=422, json={"error": {"message": "bad card"}})
    with pytest.raises(PomeloInvalidRequest) as clean:
        mint(PomeloClient.from_settings(), idempotency_key="adj-43")
    assert clean.value.uncertain_attempts == 0
