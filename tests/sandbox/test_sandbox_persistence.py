"""The stand-in's optional state file: a restarted stand-in remembers balances and keys."""

from decimal import Decimal

import requests

from sandbox.server import serve


def _start(path):
    server = serve("127.0.0.1", 0, client_id="c", client_secret="s", state_path=path)
    server.start()
    return server


def _token(url):
    response = requests.post(f"{url}/oauth/token", json={
        "client_id": "c", "client_secret": "s", "audience": "x", "grant_type": "client_credentials",
    }, timeout=5)
    return response.json()["access_token"]


def _mint(url, key):
    return requests.post(
        f"{url}/loyalty/v1/accounts/points/mint",
        json={"amount": "12.50", "reason": "goodwill", "card_id": "crd-1"},
        headers={"authorization": f"Bearer {_token(url)}", "x-idempotency-key": key},
        timeout=5,
    )


def test_restart_keeps_balances_and_idempotency_records(tmp_path):
    path = tmp_path / "pomelo.json"
    first = _start(path)
    try:
        requests.post(f"{first.url}/_sandbox/members",
                      json={"user_id": "usr-1", "card_ids": ["crd-1"]}, timeout=5)
        requests.post(f"{first.url}/_sandbox/rewards",
                      json={"user_id": "usr-1", "account_type": "points", "amount": "100"}, timeout=5)
        assert _mint(first.url, "key-1").status_code == 200
    finally:
        first.stop()

    second = _start(path)
    try:
        state = requests.get(f"{second.url}/_sandbox/state", timeout=5).json()["data"]
        assert Decimal(state["members"]["usr-1"]["balances"]["points"]) == Decimal("112.50")
        replay = _mint(second.url, "key-1")
        assert replay.status_code == 200
        effects = requests.get(f"{second.url}/_sandbox/effects", timeout=5).json()["data"]
        assert effects["key-1"]["count"] == 1 and effects["key-1"]["replays"] == 1
        state = requests.get(f"{second.url}/_sandbox/state", timeout=5).json()["data"]
        assert Decimal(state["members"]["usr-1"]["balances"]["points"]) == Decimal("112.50")
    finally:
        second.stop()
