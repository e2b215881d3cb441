"""The `sandbox_pomelo` fixture: a real stand-in Pomelo over HTTP, inside the test run.

Load it with `pytest_plugins = ["tests.support.sandbox_pomelo"]`. Each test gets its own server on
a free port and settings pointing the Pomelo client at it, so code under test talks real HTTP
and nothing of ours is mocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from sandbox.pomelo_server import PomeloSandboxApp
from sandbox.server import SandboxPomeloServer, serve

SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"


@dataclass
class SandboxPomelo:
    """Handle on a running stand-in: its URL and helpers for its /_sandbox/ endpoints."""

    server: SandboxPomeloServer
    client_id: str = SANDBOX_CLIENT_ID
    client_secret: str = SANDBOX_CLIENT_SECRET

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    @property
    def app(self) -> PomeloSandboxApp:
        return self.server.app

    def add_member(
        self,
        user_id: str,
        card_ids: list[str],
        *,
        balances: dict[str, Decimal | str | int] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"user_id": user_id, "card_ids": card_ids}
        if balances is not None:
            payload["balances"] = {k: str(v) for k, v in balances.items()}
        return self._control("POST", "/_sandbox/members", payload)

    def reward(
        self,
        *,
        account_type: str,
        amount: Decimal | str | int,
        user_id: str | None = None,
        card_id: str | None = None,
    ) -> dict[str, Any]:
        """Apply a reward effect as card traffic would (negative for a reversal)."""
        payload: dict[str, Any] = {"account_type": account_type, "amount": str(amount)}
        if user_id is not None:
            payload["user_id"] = user_id
        if card_id is not None:
            payload["card_id"] = card_id
        return self._control("POST", "/_sandbox/rewards", payload)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault configuration, e.g. `set_faults(fail_next=1, drop_next=1)`."""
        return self._control("POST", "/_sandbox/faults", faults)

    def clear_faults(self) -> dict[str, Any]:
        return self._control("DELETE", "/_sandbox/faults")

    def set_key_memory(self, seconds: int | None) -> dict[str, Any]:
        """Forget idempotency keys `seconds` after their first use (None: never)."""
        return self._control("POST", "/_sandbox/idempotency", {"memory_seconds": seconds})

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        """Move the stand-in's clock on, so its key memory runs out without waiting."""
        return self._control("POST", "/_sandbox/clock", {"advance_seconds": seconds})

    def effects(self, idempotency_key: str | None = None) -> dict[str, Any]:
        """Per idempotency key: effects applied (`count`, `effects`), `requests`, `replays`.

        With a key, returns that key's record directly (count 0 when never seen).
        """
        if idempotency_key is None:
            return self._control("GET", "/_sandbox/effects")
        data = self._control("GET", "/_sandbox/effects", params={"idempotency_key": idempotency_key})
        return data[idempotency_key]

    def state(self) -> dict[str, Any]:
        return self._control("GET", "/_sandbox/state")

    def balances(self, user_id: str) -> dict[str, Decimal]:
        member = self.state()["members"][user_id]
        return {k: Decimal(v) for k, v in member["balances"].items()}

    def revoke_tokens(self) -> dict[str, Any]:
        return self._control("DELETE", "/_sandbox/tokens")

    def reject_tokens(self) -> dict[str, Any]:
        """Refuse the current token from now on; /oauth/token keeps handing it back until revoked."""
        return self._control("POST", "/_sandbox/tokens/reject")

    def reset(self) -> dict[str, Any]:
        return self._control("POST", "/_sandbox/reset")

    def _control(
        self,
        method: str,
        path: str,
        payload: dict[str, Any] | None = None,
        *,
        params: dict[str, str] | None = None,
    ) -> Any:
        response = requests.request(method, f"{self.url}{path}", json=payload, params=params, timeout=5)
        response.raise_for_status()
        return response.json()["data"]


@pytest.fixture
def sandbox_pomelo() -> Iterator[SandboxPomelo]:
    server = serve(
        "127.0.0.1",
        0,
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        account_types=settings.POMELO_ACCOUNT_TYPES,
    )
    server.start()
    try:
        with override_settings(
            POMELO_BASE_URL=server.url,
            POMELO_TOKEN_URL=f"{server.url}/oauth/token",
            POMELO_CLIENT_ID=SANDBOX_CLIENT_ID,
            POMELO_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
            POMELO_AUDIENCE="sandbox",
            # Retries stay real, but a test must not wait out production backoff.
            POMELO_RETRY_BACKOFF_SECONDS=0.001,
        ):
            # A token cached for an earlier server would be refused by this one.
            cache.clear()
            yield SandboxPomelo(server=server)
    finally:
        cache.clear()
        server.stop()
