"""Client for Pomelo's Loyalty API: balance, mint (credit) and burn (debit).

What it guarantees, because the back office's ledger depends on it:
- one business operation keeps ONE idempotency key across every retry, so that a retry after
  a timeout does not credit twice while Pomelo remembers the key; how long it does is not
  documented, so the caller bounds the retries (`retry_until`);
- amounts leave exactly as given (a Decimal written as a JSON literal, never through float);
- every exchange is logged and returned (sanitized request, status, raw body) for the audit
  trail, without the bearer token or the client secret.
"""

from __future__ import annotations

import http
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

from .auth import TokenProvider
from .errors import (
    PomeloAuthenticationError,
    PomeloError,
    PomeloInsufficientBalance,
    PomeloInvalidRequest,
    PomeloNotFound,
    PomeloUnavailable,
    parse_error_body,
)
from .payloads import AMOUNT_FORMATS, encode_movement_body, parse_payload

logger = logging.getLogger("pomelo")
# Sent after every HTTP attempt (outcome "ok", "http_4xx", "http_5xx" or "unreachable", and the
# seconds it took), so metrics can count calls without this client knowing about them.
call_finished = Signal()

BALANCE_PATH = "/loyalty/v1/accounts/balance"
# 408 and 425 mean "not processed, try again"; 429 and 5xx are overload or outage. Everything
# else in 4xx is Pomelo's final word on this request and retrying it would only repeat it.
RETRYABLE_STATUSES = frozenset({408, 425, 429})
# Failures where the request may or may not have reached Pomelo: safe to retry only because
# the idempotency key stays the same.
TRANSIENT_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# Response bodies in logs are cut here: enough to diagnose, not a flood.
_LOG_BODY_CHARS = 2000


@dataclass(frozen=True)
class PomeloResponse:
    """A successful exchange with Pomelo.

    `data` is the payload with `{"data": ...}` unwrapped when present, numbers as Decimal;
    `raw_body` is exactly what Pomelo sent (store it: the loyalty response shapes are
    undocumented); `request` is the sanitized request (method, url, body, idempotency_key);
    `attempts` counts the HTTP requests sent, retries and the post-401 repeat included.
    """

    status_code: int
    data: dict[str, Any]
    raw_body: str
    attempts: int
    request: dict[str, Any] = field(default_factory=dict)


class PomeloClient:
    """Calls Pomelo's Loyalty API. Build it with `PomeloClient.from_settings()`."""

    def __init__(
        self,
        *,
        base_url: str,
        token_provider: TokenProvider,
        account_types: Iterable[str],
        connect_timeout: float = 3.05,
        read_timeout: float = 10.0,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
        amount_format: str = "number",
        session: requests.Session | None = None,
    ) -> None:
        if not base_url:
            raise ImproperlyConfigured("Pomelo's base URL is empty (POMELO_BASE_URL).")
        if amount_format not in AMOUNT_FORMATS:
            raise ImproperlyConfigured(
                f"POMELO_AMOUNT_FORMAT must be one of {AMOUNT_FORMATS}, not {amount_format!r}."
            )
        if max_retries < 0:
            raise ImproperlyConfigured("POMELO_MAX_RETRIES must not be negative.")
        self.base_url = base_url.rstrip("/")
        self.tokens = token_provider
        self.account_types = tuple(account_types)
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.amount_format = amount_format
        self.session = session or requests.Session()

    @classmethod
    def from_settings(cls, *, session: requests.Session | None = None) -> PomeloClient:
        # Read at call time, not import time, so override_settings and reloaded configuration
        # take effect without restarting anything.
        session = session or requests.Session()
        return cls(
            base_url=settings.POMELO_BASE_URL,
            token_provider=TokenProvider.from_settings(session=session),
            account_types=settings.POMELO_ACCOUNT_TYPES,
            connect_timeout=settings.POMELO_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.POMELO_READ_TIMEOUT_SECONDS,
            max_retries=settings.POMELO_MAX_RETRIES,
            backoff_seconds=settings.POMELO_RETRY_BACKOFF_SECONDS,
            backoff_max_seconds=settings.POMELO_RETRY_BACKOFF_MAX_SECONDS,
            amount_format=settings.POMELO_AMOUNT_FORMAT,
            session=session,
        )

    def close(self) -> None:
        """Release pooled connections (also done by `with PomeloClient.from_settings() as c`)."""
        self.session.close()

    def __enter__(self) -> PomeloClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- public calls -------------------------------------------------------------------

    def balance(self, *, card_id: str | None = None, user_id: str | None = None) -> PomeloResponse:
        """GET the member's balances by exactly one of card_id or user_id (Pomelo's rule).

        Use `balances_from_payload(response.data)` to read the per-account-type amounts.
        """
        given = {
            name: value for name, value in (("card_id", card_id), ("user_id", user_id)) if value is not None
        }
        if len(given) != 1:
            raise ValueError("Give exactly one of card_id or user_id.")
        ((name, value),) = given.items()
        _require_text(name, value)
        url = f"{self.base_url}{BALANCE_PATH}?{urlencode({name: value})}"
        return self._send("GET", url, require_json_object=True)

    def mint(
        self,
        *,
        account_type: str,
        card_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
        retry_until: datetime | None = None,
    ) -> PomeloResponse:
        """Credit `amount` to the card's `account_type` account.

        `retry_until`: no retry (nor the repeat after a 401) starts after this moment; the
        caller's bound on how long Pomelo is trusted to remember the key.
        """
        return self._move(
            "mint",
            account_type=account_type,
            card_id=card_id,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            retry_until=retry_until,
        )

    def burn(
        self,
        *,
        account_type: str,
        card_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
        retry_until: datetime | None = None,
    ) -> PomeloResponse:
        """Debit `amount` from the card's `account_type` account (`retry_until` as in mint)."""
        return self._move(
            "burn",
            account_type=account_type,
            card_id=card_id,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
            retry_until=retry_until,
        )

    # --- internals ----------------------------------------------------------------------

    def _move(
        self,
        operation: str,
        *,
        account_type: str,
        card_id: str,
        amount: Decimal,
        reason: str,
        idempotency_key: str,
        retry_until: datetime | None = None,
    ) -> PomeloResponse:
        if account_type not in self.account_types:
            raise ValueError(
                f"Unknown account type {account_type!r}; known: {', '.join(self.account_types)}."
            )
        _require_text("card_id", card_id)
        _require_text("reason", reason)
        _require_idempotency_key(idempotency_key)
        body = encode_movement_body(
            amount=amount, reason=reason, card_id=card_id, amount_format=self.amount_format
        )
        url = f"{self.base_url}/loyalty/v1/accounts/{quote(account_type, safe='')}/{operation}"
        return self._send(
            "POST", url, body=body, idempotency_key=idempotency_key, retry_until=retry_until
        )

    def _send(
        self,
        method: str,
        url: str,
        *,
        body: str | None = None,
        idempotency_key: str | None = None,
        require_json_object: bool = False,
        retry_until: datetime | None = None,
    ) -> PomeloResponse:
        request_record: dict[str, Any] = {
            "method": method,
            "url": url,
            "body": body,
            "idempotency_key": idempotency_key,
        }
        # Built once: every retry sends byte-for-byte the same request with the same key.
        base_headers = {"Accept": "application/json"}
        if body is not None:
            base_headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            base_headers["x-idempotency-key"] = idempotency_key
        payload = body.encode("utf-8") if body is not None else None
        key_note = f", idempotency key {idempotency_key}" if idempotency_key else ""

        attempts = 0
        uncertain = 0  # attempts that ended without telling whether Pomelo acted
        retries_used = 0
        reauthenticated = False

        def may_retry(delay: float) -> bool:
            if retries_used >= self.max_retries:
                return False
            return retry_until is None or _now_timestamp() + delay < retry_until.timestamp()

        def may_retry_after_401() -> bool:
            return retry_until is None or _now_timestamp() < retry_until.timestamp()

        while True:
            try:
                token = self.tokens.get_token()
            except PomeloUnavailable as exc:
                # The token endpoint is part of the same outage: it uses the same retry budget.
                delay = self._backoff(retries_used + 1, retry_after=None)
                if may_retry(delay):
                    retries_used += 1
                    self._sleep(retries_used, delay)
                    continue
                # A bare raise: `from exc` would make the error its own cause and hide the
                # network failure underneath from tracebacks.
                _with_context(exc, request_record, attempts, uncertain)
                raise
            except PomeloError as exc:
                _with_context(exc, request_record, attempts, uncertain)
                raise

            attempts += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    data=payload,
                    headers={**base_headers, "Authorization": f"Bearer {token}"},
                    timeout=self.timeout,
                    # A redirected POST turns into a GET in requests; never follow silently.
                    allow_redirects=False,
                )
            except TRANSIENT_EXCEPTIONS as exc:
                call_finished.send(PomeloClient, method=method, outcome="unreachable",
                                   seconds=time.monotonic() - started)
                logger.warning(
                    "pomelo %s %s failed after %.0f ms: %s (attempt %d%s)",
                    method,
                    url,
                    _ms_since(started),
                    type(exc).__name__,
                    attempts,
                    key_note,
                )
                uncertain += 1
                delay = self._backoff(retries_used + 1, retry_after=None)
                if may_retry(delay):
                    retries_used += 1
                    self._sleep(retries_used, delay)
                    continue
                error: PomeloError = PomeloUnavailable(
                    f"Pomelo could not be reached: {_describe_failure(exc)} ({attempts} attempt(s)).",
                    request=request_record,
                    attempts=attempts,
                )
                error.uncertain_attempts = uncertain
                raise error from exc

            status = response.status_code
            # JSON is UTF-8 by definition; decoding ourselves avoids requests' charset guessing.
            raw_body = response.content.decode("utf-8", errors="replace")
            call_finished.send(PomeloClient, method=method,
                               outcome="ok" if status < 400 else f"http_{status // 100}xx",
                               seconds=time.monotonic() - started)
            log = logger.info if status < 400 else logger.warning
            log(
                "pomelo %s %s -> %s in %.0f ms (attempt %d%s)",
                method,
                url,
                status,
                _ms_since(started),
                attempts,
                key_note,
            )
            logger.debug("pomelo request body %s; response body %s", body, raw_body[:_LOG_BODY_CHARS])

            if status == 401 and not reauthenticated and may_retry_after_401():
                # Pomelo may have invalidated the token before our cached expiry. It hands back
                # the same token until expiry, so revoke it, fetch a new one and repeat once.
                # A second 401 means the credentials themselves fail.
                reauthenticated = True
                self.tokens.reject(token)
                continue
            if 200 <= status < 300:
                parsed = parse_payload(raw_body)
                if parsed is None and require_json_object:
                    raise PomeloError(
                        f"Pomelo answered {status} with a body that is not a JSON object.",
                        status_code=status,
                        raw_body=raw_body,
                        request=request_record,
                        attempts=attempts,
                    )
                # A 2xx on mint/burn means the movement happened, whatever the body looks
                # like: report success and keep the raw body rather than invite a retry.
                return PomeloResponse(
                    status_code=status,
                    data=parsed or {},
                    raw_body=raw_body,
                    attempts=attempts,
                    request=request_record,
                )
            if status >= 500:
                uncertain += 1
            if _is_retryable_status(status):
                delay = self._backoff(retries_used + 1, retry_after=_retry_after_seconds(response))
                if may_retry(delay):
                    retries_used += 1
                    self._sleep(retries_used, delay)
                    continue
            error = error_for_response(
                status,
                raw_body,
                reason=response.reason,
                request=request_record,
                attempts=attempts,
            )
            error.uncertain_attempts = uncertain
            raise error

    def _backoff(self, retry_number: int, *, retry_after: float | None) -> float:
        # Exponential backoff with full jitter: many workers retrying after the same outage
        # spread out instead of hitting Pomelo in lockstep.
        ceiling = min(self.backoff_max_seconds, self.backoff_seconds * (2 ** (retry_number - 1)))
        delay = random.uniform(0, ceiling)
        if retry_after is not None:
            # Pomelo asked for a pause (429/503): honour it, within our own ceiling.
            delay = max(delay, min(retry_after, self.backoff_max_seconds))
        return delay

    def _sleep(self, retry_number: int, delay: float) -> None:
        logger.info("pomelo retry %d in %.3f s", retry_number, delay)
        time.sleep(delay)


# --- helpers that callers may use -----------------------------------------------------------


def error_for_response(
    status: int,
    raw_body: str,
    *,
    reason: str | None = None,
    request: dict[str, Any] | None = None,
    attempts: int = 0,
) -> PomeloError:
    """Map a non-2xx answer to the matching PomeloError subclass, keeping Pomelo's words."""
    code, message = parse_error_body(raw_body)
    error_class: type[PomeloError]
    # Error codes are undocumented: match the code first, Pomelo's wording second.
    mentions_insufficient = "INSUFFICIENT" in (code or "").upper() or (
        400 <= status < 500 and "insufficient" in (message or "").lower()
    )
    if mentions_insufficient and 400 <= status < 500:
        error_class = PomeloInsufficientBalance
    elif status in (401, 403):
        error_class = PomeloAuthenticationError
    elif status == 404:
        error_class = PomeloNotFound
    elif _is_retryable_status(status):
        error_class = PomeloUnavailable
    elif 400 <= status < 500:
        error_class = PomeloInvalidRequest
    else:
        error_class = PomeloError
    if not message:
        phrase = reason or _status_phrase(status)
        message = f"Pomelo answered {status} {phrase}".rstrip() + "."
    return error_class(
        message,
        status_code=status,
        pomelo_code=code,
        raw_body=raw_body,
        request=request,
        attempts=attempts,
    )


# --- private helpers ------------------------------------------------------------------------


def _require_text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string.")


def _require_idempotency_key(key: Any) -> None:
    # It travels as an HTTP header: no control characters or surrounding blanks, which some
    # proxies strip and would then make two "different" keys equal.
    if not isinstance(key, str) or not key or key != key.strip() or not key.isprintable():
        raise ValueError("idempotency_key must be a non-empty printable string.")


def _is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUSES or status >= 500


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # An HTTP date: rare enough that our own backoff is good enough.
    return seconds if seconds >= 0 else None


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _describe_failure(exc: Exception) -> str:
    # Plain words for staff; the exception class name is in the logs for engineers.
    if isinstance(exc, requests.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.Timeout):
        return "no answer within the read timeout"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    return "the connection failed or was dropped"


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _with_context(
    exc: PomeloError, request: dict[str, Any], attempts: int, uncertain: int = 0
) -> PomeloError:
    # Token errors are raised without knowing which call needed the token; attach it so the
    # failed operation's record shows what was attempted.
    exc.request = request
    exc.attempts = attempts
    exc.uncertain_attempts = uncertain
    return exc


def _now_timestamp() -> float:
    return datetime.now(UTC).timestamp()
