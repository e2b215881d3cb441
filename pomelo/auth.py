"""OAuth 2.0 client-credentials tokens for Pomelo, cached in Django's cache.

Pomelo hands out the same token until it expires (24 h in their example), and every web and
worker process needs one: keeping it in Django's cache (Redis in production) means one fetch
serves all processes instead of one per process per restart.

Because Pomelo hands back the same token until it expires, fetching again after a 401 would
return the very token it just refused. A refused token is therefore revoked first
(`POST {token URL}/revoke`, which drops it from Pomelo's side), then a new one is fetched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from .errors import PomeloAuthenticationError, PomeloError, PomeloUnavailable, parse_error_body

logger = logging.getLogger("pomelo")

# Pomelo usually sends expires_in; when it doesn't, assume the common one-hour lifetime
# rather than caching forever.
DEFAULT_EXPIRES_IN_SECONDS = 3600
# Refresh this long before expiry, so a call made just before the deadline doesn't carry a
# token that dies in flight (and clock skew between us and Pomelo doesn't bite).
MAX_REFRESH_MARGIN_SECONDS = 60
# How the revoke request carries its fields. Pomelo documents the endpoint, not its body:
# "json" like the token request, or "form" as OAuth's revocation standard (RFC 7009) has it.
REVOKE_FORMATS = ("json", "form")


def cache_seconds_for(expires_in: float) -> int:
    """How long to keep a token that lives `expires_in` seconds: 0 means don't cache it.

    The margin is 60 s, or 10% of the lifetime for short-lived tokens, so a 30 s token is still
    reused for 27 s. Whole seconds, because some cache backends (Redis) truncate to int anyway.
    """
    if not math.isfinite(expires_in) or expires_in <= 0:
        return 0
    margin = min(MAX_REFRESH_MARGIN_SECONDS, expires_in * 0.1)
    return max(0, math.floor(expires_in - margin))


class TokenProvider:
    """Fetches and caches Pomelo access tokens.

    `get_token()` returns the cached token or fetches a new one. After Pomelo answered 401,
    `reject(token)` revokes the token at Pomelo and drops it from the cache, so the next
    `get_token()` gets a new one rather than the one Pomelo refused.
    """

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: str,
        connect_timeout: float,
        read_timeout: float,
        session: requests.Session | None = None,
        cache_alias: str = "default",
        revoke_url: str = "",
        revoke_format: str = "json",
    ) -> None:
        if revoke_format not in REVOKE_FORMATS:
            raise ImproperlyConfigured(
                f"POMELO_TOKEN_REVOKE_FORMAT must be one of {REVOKE_FORMATS}, not {revoke_format!r}."
            )
        self.token_url = token_url
        self.revoke_url = revoke_url or f"{token_url.rstrip('/')}/revoke"
        self.revoke_format = revoke_format
        self.client_id = client_id
        self._client_secret = client_secret
        self.audience = audience
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()
        self.cache_alias = cache_alias
        # Tokens belong to one set of credentials at one token URL: keying on them stops a
        # stage token from being sent to production after a configuration change. Hashed so
        # the key shows no identifiers; the secret is left out on purpose.
        fingerprint = hashlib.sha256(f"{token_url}\n{client_id}\n{audience}".encode()).hexdigest()
        self.cache_key = f"pomelo:oauth-token:{fingerprint[:32]}"

    @classmethod
    def from_settings(cls, *, session: requests.Session | None = None) -> TokenProvider:
        return cls(
            token_url=settings.POMELO_TOKEN_URL,
            client_id=settings.POMELO_CLIENT_ID,
            client_secret=settings.POMELO_CLIENT_SECRET,
            audience=settings.POMELO_AUDIENCE,
            connect_timeout=settings.POMELO_CONNECT_TIMEOUT_SECONDS,
            read_timeout=settings.POMELO_READ_TIMEOUT_SECONDS,
            session=session,
            revoke_url=settings.POMELO_TOKEN_REVOKE_URL,
            revoke_format=settings.POMELO_TOKEN_REVOKE_FORMAT,
        )

    @sensitive_variables("cached", "token")
    def get_token(self) -> str:
        cached = self._cache_get()
        if cached:
            return cached
        token, expires_in = self._fetch()
        ttl = cache_seconds_for(expires_in)
        if ttl > 0:
            self._cache_set(token, ttl)
        return token

    @sensitive_variables("token", "cached")
    def reject(self, token: str) -> None:
        """Pomelo answered 401 to `token`: revoke it there and forget it here.

        When the shared cache already holds another token, another process has been through
        this and its fresh token must survive: revoking again could drop that one at Pomelo.
        A failed revoke is logged, not raised; the caller's one retry then shows whether
        Pomelo still refuses.
        """
        cached = self._cache_get()
        if cached is not None and cached != token:
            return
        logger.warning(
            "pomelo refused the token of client %s (401): revoking it before fetching another",
            self.client_id,
        )
        self._revoke(token)
        self.invalidate(token)

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token.

        With `token`, only if the cache still holds that very token: another process may
        already have replaced a rejected token with a fresh one, which must survive.
        """
        try:
            cache = caches[self.cache_alias]
            if token is None or cache.get(self.cache_key) == token:
                cache.delete(self.cache_key)
        except Exception:
            # A cache outage must not stop calls to Pomelo; the token then lives per call.
            logger.warning("pomelo token cache unavailable while invalidating", exc_info=True)

    def _cache_get(self) -> str | None:
        try:
            value = caches[self.cache_alias].get(self.cache_key)
        except Exception:
            logger.warning("pomelo token cache unavailable; fetching a token", exc_info=True)
            return None
        return value if isinstance(value, str) and value else None

    def _cache_set(self, token: str, ttl: int) -> None:
        try:
            caches[self.cache_alias].set(self.cache_key, token, timeout=ttl)
        except Exception:
            logger.warning("pomelo token cache unavailable; token not shared", exc_info=True)

    @sensitive_variables("token", "body", "data")
    def _revoke(self, token: str) -> bool:
        """POST the token to the revoke endpoint; True when Pomelo answered 2xx. Never raises."""
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "audience": self.audience,
            "token": token,
            "token_type_hint": "access_token",
        }
        # Both the token (body and bearer header) and the client credentials: Pomelo does not
        # say which it reads.
        data = {"json": body} if self.revoke_format == "json" else {"data": body}
        started = time.monotonic()
        try:
            response = self.session.post(
                self.revoke_url,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
                **data,
            )
        except requests.RequestException as exc:
            logger.warning(
                "pomelo POST %s failed after %.0f ms: %s (token not revoked)",
                self.revoke_url,
                (time.monotonic() - started) * 1000,
                type(exc).__name__,
            )
            return False
        revoked = 200 <= response.status_code < 300
        (logger.info if revoked else logger.warning)(
            "pomelo POST %s -> %s in %.0f ms (token revocation for client %s)",
            self.revoke_url,
            response.status_code,
            (time.monotonic() - started) * 1000,
            self.client_id,
        )
        return revoked

    @sensitive_variables("body", "raw_body", "token")
    def _fetch(self) -> tuple[str, float]:
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "audience": self.audience,
            "grant_type": "client_credentials",
        }
        # What may be logged or attached to an error: everything but the secret.
        sanitized = {"method": "POST", "url": self.token_url, "body": None, "idempotency_key": None}
        started = time.monotonic()
        try:
            response = self.session.post(self.token_url, json=body, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            logger.warning(
                "pomelo POST %s failed after %.0f ms: %s",
                self.token_url,
                (time.monotonic() - started) * 1000,
                type(exc).__name__,
            )
            raise PomeloUnavailable(
                f"Could not reach Pomelo's token endpoint ({type(exc).__name__}).",
                request=sanitized,
                attempts=1,
            ) from exc
        raw_body = response.text
        logger.info(
            "pomelo POST %s -> %s in %.0f ms (token request for client %s)",
            self.token_url,
            response.status_code,
            (time.monotonic() - started) * 1000,
            self.client_id,
        )
        if response.status_code != 200:
            code, message = parse_error_body(raw_body)
            status = response.status_code
            error_class: type[PomeloError]
            if status == 429 or status >= 500:
                error_class = PomeloUnavailable
            else:
                error_class = PomeloAuthenticationError
            # The body of a token error never holds the token, so it's safe to keep.
            raise error_class(
                message or f"Pomelo's token endpoint answered {status} {response.reason}.",
                status_code=status,
                pomelo_code=code,
                raw_body=raw_body,
                request=sanitized,
                attempts=1,
            )
        token, expires_in = _parse_token_body(raw_body)
        if not token:
            # Don't keep this body: it may hold a token under a name we don't know.
            raise PomeloAuthenticationError(
                "Pomelo's token endpoint answered 200 without an access_token.",
                status_code=200,
                request=sanitized,
                attempts=1,
            )
        return token, expires_in


def _parse_token_body(raw_body: str) -> tuple[str | None, float]:
    try:
        parsed: Any = json.loads(raw_body, parse_float=Decimal)
    except ValueError:
        return None, DEFAULT_EXPIRES_IN_SECONDS
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), dict):
        # Pomelo wraps its other APIs' answers in {"data": ...}; accept that here too.
        parsed = parsed["data"]
    if not isinstance(parsed, dict):
        return None, DEFAULT_EXPIRES_IN_SECONDS
    token = parsed.get("access_token")
    if not isinstance(token, str) or not token:
        return None, DEFAULT_EXPIRES_IN_SECONDS
    expires_in: float = DEFAULT_EXPIRES_IN_SECONDS
    raw_expiry = parsed.get("expires_in")
    if not isinstance(raw_expiry, bool):
        try:
            expires_in = float(raw_expiry)
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN_SECONDS
        if not math.isfinite(expires_in):
            expires_in = DEFAULT_EXPIRES_IN_SECONDS
    return token, expires_in
