"""Pomelo's webhook signature, as its example code computes it (see pomelo-api.md).

signature = "hmac-sha256 " + base64(HMAC-SHA256(base64decode(api_secret),
                                                 x-timestamp + x-endpoint + raw body))
"""

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

ALGORITHM_PREFIX = "hmac-sha256 "
REQUIRED_HEADERS = ("x-api-key", "x-signature", "x-timestamp", "x-endpoint")


class SignatureError(Exception):
    """The request is not provably from Pomelo. The message says which check failed."""


def signature_compute(*, key: bytes, timestamp: str, endpoint: str, body: bytes) -> str:
    message = timestamp.encode() + endpoint.encode() + body
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return ALGORITHM_PREFIX + base64.b64encode(digest).decode("ascii")


def signature_verify(
    *,
    headers: Mapping[str, str],
    body: bytes,
    path: str,
    keys: Mapping[str, bytes],
    tolerance_seconds: int,
    now: float | None = None,
) -> str:
    """Check a delivery's signature headers; return the api-key that signed it.

    `headers` is keyed by lower-case header name; `path` is the path (with query) that
    received the request.
    """
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    api_key, signature = headers["x-api-key"], headers["x-signature"]
    timestamp, endpoint = headers["x-timestamp"], headers["x-endpoint"]

    key = keys.get(api_key)
    if key is None:
        raise SignatureError("unknown x-api-key")
    if not signature.startswith(ALGORITHM_PREFIX):
        algorithm = signature.split(" ", 1)[0][:32]
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}; expected hmac-sha256")
    if not timestamp.isdigit():
        raise SignatureError("x-timestamp must be Unix seconds")
    now = time.time() if now is None else now
    skew = int(timestamp) - now
    if abs(skew) > tolerance_seconds:
        direction = "in the future" if skew > 0 else "old"
        raise SignatureError(
            f"x-timestamp is {abs(int(skew))} s {direction}; tolerance is {tolerance_seconds} s"
        )
    if endpoint != path:
        raise SignatureError(f"x-endpoint {endpoint[:200]!r} does not match the path {path!r}")
    expected = signature_compute(key=key, timestamp=timestamp, endpoint=endpoint, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("x-signature does not match the body")
    return api_key
