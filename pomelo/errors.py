"""Typed errors for Pomelo's Loyalty API.

Pomelo's loyalty error shapes are undocumented (README: open questions), so the body is parsed
leniently and always kept raw: staff see what Pomelo actually said, and callers decide by type
(and by `transient`) whether a retry later could help.
"""

from __future__ import annotations

import json
from typing import Any

# Kept short so a proxy's HTML error page doesn't flood logs or the admin.
_MAX_MESSAGE_CHARS = 300


class PomeloError(Exception):
    """Pomelo refused or failed a call.

    `message` is Pomelo's own wording when it sent one, otherwise a plain description of what
    happened. `request` is the sanitized request (never the token) and `attempts` how many HTTP
    requests were sent, so a failed operation can be recorded as fully as a successful one.
    """

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        pomelo_code: str | None = None,
        raw_body: str = "",
        transient: bool | None = None,
        request: dict[str, Any] | None = None,
        attempts: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.pomelo_code = pomelo_code
        self.raw_body = raw_body
        if transient is not None:
            # Instance override; the class attribute is the default for the type.
            self.transient = transient
        self.request = request
        self.attempts = attempts
        # Of `attempts`, how many ended without an answer that says whether Pomelo acted (a
        # timeout, a cut connection, a 5xx): an earlier one of those may have been applied even
        # when the last attempt was refused.
        self.uncertain_attempts = 0

    def __str__(self) -> str:
        details = [f"HTTP {self.status_code}" if self.status_code is not None else None]
        details.append(self.pomelo_code)
        extra = ", ".join(d for d in details if d)
        return f"{self.message} ({extra})" if extra else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status_code={self.status_code!r}, "
            f"pomelo_code={self.pomelo_code!r}, transient={self.transient!r})"
        )


class PomeloInvalidRequest(PomeloError):
    """Pomelo rejected the request as malformed or conflicting (400, 409, 422, ...)."""


class PomeloAuthenticationError(PomeloError):
    """Our credentials or token were refused (401/403, or the token endpoint said no)."""


class PomeloNotFound(PomeloError):
    """The card or user is unknown to Pomelo (404)."""


class PomeloInsufficientBalance(PomeloError):
    """A burn asked for more than the member's balance."""


class PomeloUnavailable(PomeloError):
    """Pomelo could not be reached or kept failing: timeouts, dropped connections, 429, 5xx.

    Transient: the same operation, with the same idempotency key, may be retried later.
    """

    transient = True


def parse_error_body(raw_body: str) -> tuple[str | None, str | None]:
    """Return (pomelo_code, message) from an error body of any of the shapes seen in the wild.

    Handles `{"error": {"error_code": ..., "message"|"details": ...}}` (Pomelo's other APIs),
    OAuth's `{"error": "invalid_client", "error_description": ...}`, `{"message": ...}`,
    `{"detail": ...}` and non-JSON bodies (a load balancer's HTML page, plain text).
    """
    try:
        parsed = json.loads(raw_body)
    except ValueError:
        text = " ".join(raw_body.split())
        if not text or text.startswith("<"):
            # HTML pages say nothing useful to staff in their first few hundred characters.
            return None, None
        return None, _shorten(text)
    if isinstance(parsed, str) and parsed.strip():
        return None, _shorten(parsed.strip())
    if not isinstance(parsed, dict):
        return None, None

    code: Any = None
    message: Any = None
    error = parsed.get("error")
    if isinstance(error, dict):
        code = _first(error, "error_code", "code", "type")
        message = _first(error, "message", "details", "detail", "description")
    elif isinstance(error, str):
        code = error
        message = parsed.get("error_description")
    code = code or _first(parsed, "error_code", "code")
    message = message or _first(parsed, "message", "details", "detail", "description")
    return (_as_text(code) if code not in (None, "") else None), (
        _shorten(_as_text(message)) if message not in (None, "") else None
    )


def _first(obj: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # `details` is sometimes a list or object of field errors: keep it readable, not a repr.
    return json.dumps(value, ensure_ascii=False, default=str)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 1] + "…"
