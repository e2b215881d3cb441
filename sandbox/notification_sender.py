"""Sends loyalty notifications signed the way Pomelo signs them, over real HTTP.

Used by the traffic simulator, the demo and the benchmarks; the back office never imports it.
"""

import base64
import json
import time
from decimal import Decimal
from typing import Any

import requests

from webhooks.signature import signature_compute

PATHS = {
    "pending": "/webhooks/pomelo/loyalty/pending",
    "confirmation": "/webhooks/pomelo/loyalty/confirmation",
    "cancellation": "/webhooks/pomelo/loyalty/cancellation",
}


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def notification_encode(payload: dict) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode()


def signed_headers(
    *, api_key: str, secret_b64: str, endpoint: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = signature_compute(
        key=base64.b64decode(secret_b64), timestamp=ts, endpoint=endpoint, body=body
    )
    return {
        "content-type": "application/json",
        "x-api-key": api_key,
        "x-signature": signature,
        "x-timestamp": ts,
        "x-endpoint": endpoint,
    }


class NotificationSender:
    """One keep-alive HTTP session to the back office; not thread-safe, one per sender thread."""

    def __init__(self, *, base_url: str, api_key: str, secret_b64: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.secret_b64 = secret_b64
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, kind: str, payload: dict) -> requests.Response:
        endpoint = PATHS[kind]
        body = notification_encode(payload)
        headers = signed_headers(
            api_key=self.api_key, secret_b64=self.secret_b64, endpoint=endpoint, body=body
        )
        return self.session.post(self.base_url + endpoint, data=body, headers=headers, timeout=self.timeout)

    def close(self) -> None:
        self.session.close()
