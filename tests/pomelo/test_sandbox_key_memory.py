"""The stand-in's idempotency-key memory: what a re-send after Pomelo forgets a key does."""

from decimal import Decimal

import pytest
import requests

from pomelo import PomeloClient

MINT = {"account_type": "points", "card_id": "crd-1", "amount": Decimal("10.00"), "reason": "r",
        "idempotency_key": "adj-memory"}


@pytest.fixture
def client(sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    with PomeloClient.from_settings() as pomelo:
        yield pomelo


def test_a_key_is_remembered_forever_by_default(sandbox_pomelo, client):
    client.mint(**MINT)
    sandbox_pomelo.advance_clock(10_000)
    client.mint(**MINT)
    record = sandbox_pomelo.effects("adj-memory")
    assert (record["count"], record["replays"], record["forgotten"]) == (1, 1, 0)
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("110.00")


def test_a_resend_after_the_key_memory_ends_applies_again(sandbox_pomelo, client):
    sandbox_pomelo.set_key_memory(180)
    client.mint(**MINT)
    sandbox_pomelo.advance_clock(179)
    client.mint(**MINT)  # still remembered: replayed
    assert sandbox_pomelo.effects("adj-memory")["count"] == 1
    sandbox_pomelo.advance_clock(2)
    client.mint(**MINT)  # forgotten: a second credit under the same key
    record = sandbox_pomelo.effects("adj-memory")
    assert (record["count"], record["requests"], record["replays"], record["forgotten"]) == (2, 3, 1, 1)
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("120.00")
    state = sandbox_pomelo.state()
    assert state["key_memory_seconds"] == 180 and state["clock_offset_seconds"] == 181


@pytest.mark.parametrize(("path", "body"), [
    ("/_sandbox/idempotency", {"memory_seconds": -1}),
    ("/_sandbox/idempotency", {"memory_seconds": "long"}),
    ("/_sandbox/clock", {"advance_seconds": -5}),
    ("/_sandbox/clock", {}),
])
def test_bad_control_values_are_refused(sandbox_pomelo, path, body):
    response = requests.post(f"{sandbox_pomelo.url}{path}", json=body, timeout=5)
    assert response.status_code == 400
    assert sandbox_pomelo.state()["key_memory_seconds"] is None
    assert sandbox_pomelo.state()["clock_offset_seconds"] == 0
