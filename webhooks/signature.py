"""Pomelo's webhook signature, as its example code computes it (see the README's webhook
contract).

signature = "hmac-sha256 " + base64(HMAC-SHA256(base64decode(api_secret),
                                                 x-timestamp + x-endpoint + raw body))
"""

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Collection, Mapping

ALGORITHM_PREFIX = "hmac-sha256 "
REQUIRED_HEADERS = ("x-api-key", "x-signature", "x-timestamp", "x-endpoint")
# Unix seconds in ASCII digits. str.isdigit() would also pass other scripts' digits, and int()
# refuses strings past 4,300 digits: both must end in a 401, never in an exception.
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
# Header values we compare or hash are visible ASCII (a signature, a key, a path).
_VISIBLE_ASCII = re.compile(r"[\x20-\x7e]*", re.ASCII)
MAX_HEADER_LENGTH = 2048


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
    endpoints: Collection[str],
    keys: Mapping[str, bytes],
    tolerance_seconds: int,
    now: float | None = None,
) -> str:
    """Check a delivery's signature headers; return the api-key that signed it.

    `headers` is keyed by lower-case header name; `endpoints` are the paths (with query)
    x-endpoint may name: the public path Pomelo was given and the path that received the
    request. Raises SignatureError, and only that, whatever the headers hold.
    """
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        raise SignatureError(f"missing header(s): {', '.join(missing)}")
    for name in REQUIRED_HEADERS:
        value = headers[name]
        if len(value) > MAX_HEADER_LENGTH or not _VISIBLE_ASCII.fullmatch(value):
            raise SignatureError(f"{name} must be visible ASCII of at most {MAX_HEADER_LENGTH} characters")
    api_key, signature = headers["x-api-key"], headers["x-signature"]
    timestamp, endpoint = headers["x-timestamp"], headers["x-endpoint"]

    key = keys.get(api_key)
    if key is None:
        raise SignatureError("unknown x-api-key")
    if not signature.startswith(ALGORITHM_PREFIX):
        algorithm = signature.split(" ", 1)[0][:32]
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}; expected hmac-sha256")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("x-timestamp must be Unix seconds")
    now = time.time() if now is None else now
    skew = int(timestamp) - now
    if abs(skew) > tolerance_seconds:
        direction = "in the future" if skew > 0 else "old"
        raise SignatureError(
            f"x-timestamp is {abs(int(skew))} s {direction}; tolerance is {tolerance_seconds} s"
        )
    if endpoint not in endpoints:
        expected_paths = " or ".join(repr(p[:200]) for p in sorted(set(endpoints)))
        raise SignatureError(f"x-endpoint {endpoint[:200]!r} does not match the path {expected_paths}")
    expected = signature_compute(key=key, timestamp=timestamp, endpoint=endpoint, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("x-signature does not match the body")
    return api_key
