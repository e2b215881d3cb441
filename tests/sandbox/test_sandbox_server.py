"""The stand-in Pomelo's own contract, over real HTTP with plain `requests`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from sandbox.server import serve
from tests.support.sandbox_pomelo import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pomelo(sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "50.00"})
    return sandbox_pomelo


def token_response(
    url: str, client_id: str = SANDBOX_CLIENT_ID, client_secret: str = SANDBOX_CLIENT_SECRET
) -> dict:
    response = requests.post(
        f"{url}/oauth/token",
        json={
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": "sandbox",
            "grant_type": "client_credentials",
        },
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 3600
    return body


def token_for(pomelo) -> str:
    return token_response(pomelo.url, pomelo.client_id, pomelo.client_secret)["access_token"]


def revoke(url: str, *, token: str | None = None, bearer: str | None = None, form: bool = False,
           client_secret: str = SANDBOX_CLIENT_SECRET) -> requests.Response:
    fields = {"client_id": SANDBOX_CLIENT_ID, "client_secret": client_secret}
    if token is not None:
        fields["token"] = token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    body = {"data": fields} if form else {"json": fields}
    return requests.post(f"{url}/oauth/token/revoke", headers=headers, timeout=5, **body)


def call(pomelo, method, path, *, token=None, key=None, headers=None, **kwargs) -> requests.Response:
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["x-idempotency-key"] = key
    return requests.request(method, f"{pomelo.url}{path}", headers=headers, timeout=5, **kwargs)


def error_code(response: requests.Response) -> str:
    return response.json()["error"]["error_code"]


@pytest.mark.parametrize(
    "payload",
    [
        {"client_id": "sandbox-client", "client_secret": "wrong", "grant_type": "client_credentials"},
        {"client_id": "other", "client_secret": "sandbox-secret", "grant_type": "client_credentials"},
        {"client_id": "sandbox-client", "client_secret": "sandbox-secret"},
    ],
)
def test_token_endpoint_checks_the_credentials(pomelo, payload):
    response = requests.post(pomelo.token_url, json=payload, timeout=5)

    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()
    assert pomelo.state()["tokens_issued"] == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked():
    """A stand-in with 60-second tokens, on a clock the test moves."""
    clock = Clock()
    server = serve("127.0.0.1", 0, client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET,
                   token_lifetime_seconds=60, clock=clock)
    server.start()
    requests.post(f"{server.url}/_sandbox/members", json={"user_id": "usr-1", "card_ids": []}, timeout=5)
    try:
        yield server, clock
    finally:
        server.stop()


def test_the_same_token_is_handed_back_until_it_expires(clocked):
    server, clock = clocked
    first = token_response(server.url)
    clock.now += 59
    second = token_response(server.url)
    clock.now += 1
    third = token_response(server.url)

    assert second["access_token"] == first["access_token"]
    assert (first["expires_in"], second["expires_in"]) == (60, 1)
    assert third["access_token"] != first["access_token"] and third["expires_in"] == 60
    balance = f"{server.url}/loyalty/v1/accounts/balance?user_id=usr-1"
    assert requests.get(balance, headers={"Authorization": f"Bearer {first['access_token']}"}, timeout=5
                        ).status_code == 401
    assert requests.get(balance, headers={"Authorization": f"Bearer {third['access_token']}"}, timeout=5).ok
    assert server.app.state()["tokens_issued"] == 2


def test_a_rejected_token_is_handed_back_until_it_is_revoked(pomelo):
    balance = "/loyalty/v1/accounts/balance?user_id=usr-1"
    token = token_for(pomelo)
    pomelo.reject_tokens()
    assert call(pomelo, "GET", balance, token=token).status_code == 401

    # Fetching again, all a client that forgets Pomelo's rule would do, gets the refused token.
    again = token_for(pomelo)
    assert again == token
    assert call(pomelo, "GET", balance, token=again).status_code == 401

    assert revoke(pomelo.url, token=token).json() == {"data": {"revoked": True}}
    fresh = token_for(pomelo)
    assert fresh != token
    assert call(pomelo, "GET", balance, token=fresh).ok
    state = pomelo.state()
    assert (state["tokens_issued"], state["tokens_revoked"], state["tokens_rejected"]) == (2, 1, 0)


@pytest.mark.parametrize(
    "how",
    [{"token": "T"}, {"token": "T", "form": True}, {"bearer": "T"}, {}],
    ids=["json-body", "form-body", "bearer-header", "client-only"],
)
def test_revoke_drops_the_clients_token(pomelo, how):
    token = token_for(pomelo)
    arguments = {name: token if value == "T" else value for name, value in how.items()}

    response = revoke(pomelo.url, **arguments)

    assert response.json() == {"data": {"revoked": True}}
    assert call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token).status_code == 401
    assert token_for(pomelo) != token


def test_revoking_an_unknown_token_changes_nothing(pomelo):
    token = token_for(pomelo)

    response = revoke(pomelo.url, token="sbx_not-ours")

    assert response.status_code == 200 and response.json() == {"data": {"revoked": False}}
    assert token_for(pomelo) == token


def test_revoke_requires_the_client_credentials(pomelo):
    token = token_for(pomelo)

    response = revoke(pomelo.url, token=token, client_secret="wrong")

    assert (response.status_code, error_code(response)) == (401, "INVALID_CLIENT")
    assert token_for(pomelo) == token
    assert pomelo.state()["tokens_revoked"] == 0


@pytest.mark.parametrize("token", [None, "made-up"])
def test_loyalty_api_requires_a_valid_bearer_token(pomelo, token):
    balance = call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    mint = call(
        pomelo,
        "POST",
        "/loyalty/v1/accounts/points/mint",
        token=token,
        key="k-1",
        json={"amount": "1.00", "reason": "x", "card_id": "crd-1"},
    )

    assert (balance.status_code, error_code(balance)) == (401, "UNAUTHORIZED")
    assert (mint.status_code, error_code(mint)) == (401, "UNAUTHORIZED")
    assert pomelo.effects() == {}


def test_revoked_tokens_stop_working(pomelo):
    token = token_for(pomelo)
    assert call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token).ok

    pomelo.revoke_tokens()

    response = call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    assert response.status_code == 401


def test_balance_answer_shape(pomelo):
    response = call(pomelo, "GET", "/loyalty/v1/accounts/balance?card_id=crd-1", token=token_for(pomelo))

    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "user_id": "usr-1",
            "card_id": "crd-1",
            "balances": {"points": "50.00", "cashback": "0.00", "miles": "0.00"},
        }
    }


@pytest.mark.parametrize(
    "query", ["", "?card_id=crd-1&user_id=usr-1", "?card_id=", "?user_id=usr-1&user_id=usr-2"]
)
def test_balance_needs_exactly_one_identifier(pomelo, query):
    response = call(pomelo, "GET", f"/loyalty/v1/accounts/balance{query}", token=token_for(pomelo))

    assert (response.status_code, error_code(response)) == (400, "INVALID_REQUEST")


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        ("points/mint", {"amount": "1.001", "reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"amount": "0", "reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"amount": -5, "reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"amount": "NaN", "reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"amount": True, "reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"reason": "x", "card_id": "crd-1"}, "INVALID_AMOUNT"),
        ("points/mint", {"amount": "1", "reason": "x", "card_id": "crd-9"}, "CARD_NOT_FOUND"),
        ("points/mint", {"amount": "1", "card_id": "crd-1"}, "INVALID_REQUEST"),
        ("stars/mint", {"amount": "1", "reason": "x", "card_id": "crd-1"}, "INVALID_ACCOUNT_TYPE"),
        ("points/burn", ["not", "an", "object"], "INVALID_REQUEST"),
    ],
)
def test_movement_bodies_are_validated(pomelo, path, body, code):
    response = call(
        pomelo,
        "POST",
        f"/loyalty/v1/accounts/{path}",
        token=token_for(pomelo),
        key="k-invalid",
        json=body,
    )

    assert (response.status_code, error_code(response)) == (400, code)
    assert pomelo.balances("usr-1")["points"] == 50
    # A refused request changes nothing and is not remembered under its key.
    assert pomelo.effects("k-invalid")["requests"] == 0


def test_movement_without_idempotency_key_is_refused(pomelo):
    response = call(
        pomelo,
        "POST",
        "/loyalty/v1/accounts/points/mint",
        token=token_for(pomelo),
        json={"amount": "1.00", "reason": "x", "card_id": "crd-1"},
    )

    assert (response.status_code, error_code(response)) == (400, "MISSING_IDEMPOTENCY_KEY")
    assert pomelo.balances("usr-1")["points"] == 50


def test_amount_as_number_or_string_with_any_spelling_is_one_request(pomelo):
    token = token_for(pomelo)
    bodies = [
        b'{"amount": 10.50, "reason": "x", "card_id": "crd-1"}',
        b'{"card_id": "crd-1", "amount": "10.5", "reason": "x"}',
    ]
    answers = [
        call(
            pomelo,
            "POST",
            "/loyalty/v1/accounts/points/mint",
            token=token,
            key="k-same",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        for body in bodies
    ]

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    assert pomelo.effects("k-same")["count"] == 1
    assert pomelo.balances("usr-1")["points"] == Decimal("60.50")


def test_same_key_on_another_operation_is_a_conflict(pomelo):
    token = token_for(pomelo)
    body = {"amount": "1.00", "reason": "x", "card_id": "crd-1"}
    first = call(pomelo, "POST", "/loyalty/v1/accounts/points/mint", token=token, key="k", json=body)
    second = call(pomelo, "POST", "/loyalty/v1/accounts/points/burn", token=token, key="k", json=body)

    assert first.status_code == 200
    assert (second.status_code, error_code(second)) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert pomelo.balances("usr-1")["points"] == 51


def test_insufficient_balance_is_remembered_under_its_key(pomelo):
    token = token_for(pomelo)
    body = {"amount": "60.00", "reason": "x", "card_id": "crd-1"}
    first = call(pomelo, "POST", "/loyalty/v1/accounts/points/burn", token=token, key="b", json=body)
    pomelo.reward(user_id="usr-1", account_type="points", amount="100")
    replay = call(pomelo, "POST", "/loyalty/v1/accounts/points/burn", token=token, key="b", json=body)

    assert (first.status_code, error_code(first)) == (422, "INSUFFICIENT_BALANCE")
    assert replay.status_code == 422
    assert pomelo.balances("usr-1")["points"] == 150


def test_rewards_apply_card_traffic_including_reversals(pomelo):
    pomelo.reward(user_id="usr-1", account_type="cashback", amount="2.50")
    pomelo.reward(card_id="crd-1", account_type="cashback", amount="-4.00")

    state = pomelo.state()
    assert state["members"]["usr-1"]["balances"]["cashback"] == "-1.50"
    assert [r["amount"] for r in state["rewards"]] == ["2.50", "-4.00"]


def test_members_can_be_updated_but_cards_not_stolen(pomelo):
    pomelo.add_member("usr-1", ["crd-2"])
    response = requests.post(
        f"{pomelo.url}/_sandbox/members",
        json={"user_id": "usr-2", "card_ids": ["crd-1"]},
        timeout=5,
    )

    assert pomelo.state()["members"]["usr-1"]["card_ids"] == ["crd-1", "crd-2"]
    assert (response.status_code, error_code(response)) == (409, "CARD_TAKEN")


def test_faults_hit_the_loyalty_api_but_not_the_control_endpoints(pomelo):
    token = token_for(pomelo)
    pomelo.set_faults(fail_next=1, drop_next=1)

    state = pomelo.state()  # a control call: not consumed by the faults
    with pytest.raises(requests.ConnectionError):
        call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    failed = call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    healthy = call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)

    assert state["faults"]["fail_next"] == 1
    assert (failed.status_code, error_code(failed)) == (500, "SANDBOX_INJECTED_FAULT")
    assert healthy.status_code == 200
    assert pomelo.state()["faults"]["injected"] == 2


def test_fail_percent_is_reproducible_with_a_seed(pomelo):
    token = token_for(pomelo)

    def run() -> list[int]:
        pomelo.set_faults(fail_percent=50, seed=7)
        return [
            call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token).status_code
            for _ in range(20)
        ]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 500}


def test_delay_slows_the_loyalty_api(pomelo):
    token = token_for(pomelo)
    pomelo.set_faults(delay_ms=300, delay_next=1)

    started = time.monotonic()
    call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    slow = time.monotonic() - started
    started = time.monotonic()
    call(pomelo, "GET", "/loyalty/v1/accounts/balance?user_id=usr-1", token=token)
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.3


@pytest.mark.parametrize(
    "faults", [{"fail_next": -1}, {"fail_percent": 101}, {"bogus": 1}, {"fail_status": 200}]
)
def test_invalid_fault_options_are_refused(pomelo, faults):
    response = requests.post(f"{pomelo.url}/_sandbox/faults", json=faults, timeout=5)

    assert response.status_code == 400


def test_clear_faults_and_reset(pomelo):
    pomelo.set_faults(fail_next=3)
    assert pomelo.clear_faults()["fail_next"] == 0

    pomelo.reset()

    state = pomelo.state()
    assert state["members"] == {}
    assert state["tokens_issued"] == 0


def test_management_command_serves_the_stand_in():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "run_sandbox_pomelo",
            "--port",
            "0",
            "--client-id",
            "cli-client",
            "--client-secret",
            "cli-secret",
            "--fail-next",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read()
        url = line.split("listening on ")[1].split()[0]
        token = requests.post(
            f"{url}/oauth/token",
            json={
                "client_id": "cli-client",
                "client_secret": "cli-secret",
                "grant_type": "client_credentials",
            },
            timeout=5,
        ).json()["access_token"]
        requests.post(f"{url}/_sandbox/members", json={"user_id": "u", "card_ids": []}, timeout=5)
        headers = {"Authorization": f"Bearer {token}"}
        first = requests.get(f"{url}/loyalty/v1/accounts/balance?user_id=u", headers=headers, timeout=5)
        second = requests.get(f"{url}/loyalty/v1/accounts/balance?user_id=u", headers=headers, timeout=5)
        assert (first.status_code, second.status_code) == (500, 200)
    finally:
        process.terminate()
        process.wait(timeout=10)
