"""What Django's error pages (DEBUG) and error reports may show: never a secret.

Django's own filter hides settings whose name looks secret (KEY, SECRET, TOKEN, PASS…), and
only with DEBUG off. That leaves three holes this filter closes:
- connection strings: `DATABASE_URL`, `CACHE_URL`, a DSN or a cache LOCATION carry passwords
  under names Django does not recognise, and runserver copies the whole process environment
  into request.META;
- traceback locals on the DEBUG page: a failed token request shows the client secret in
  requests' and urllib3's frames, a failed API call shows the bearer token;
- DEBUG itself: the page a developer shares is the page that must be clean, so the filter is
  always active (sensitive_variables and sensitive_post_parameters apply with DEBUG on too).
"""

from __future__ import annotations

import base64
import pprint
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.utils.regex_helper import _lazy_re_compile
from django.views.debug import SafeExceptionReporterFilter

# A scheme, then user:password@ — the shape of every connection string with credentials.
_CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.\-]*://[^\s/@:]*:[^\s/@]+@", re.IGNORECASE)
_BEARER = re.compile(r"(bearer\s+)[^\s'\",}]+", re.IGNORECASE)
_ACCESS_TOKEN_FIELD = re.compile(r"""(["']access_token["']\s*:\s*["'])[^"']+""", re.IGNORECASE)
# Shorter values would blank innocent text everywhere (and are not secrets worth the name).
_MIN_SECRET_LENGTH = 8


class SecretHidingExceptionReporterFilter(SafeExceptionReporterFilter):
    # Django's list, plus connection strings: *_URL settings and variables, DSNs, cache
    # LOCATIONs and credentials. ROOT_URLCONF and the like are not URLs and stay visible.
    hidden_settings = _lazy_re_compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|DSN|LOCATION"
        r"|(^|_)URLS?($|_)",
        flags=re.IGNORECASE,
    )

    def is_active(self, request: Any) -> bool:
        return True

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str | bytes) and _CREDENTIALS_IN_URL.search(_as_text(cleansed)):
            # A connection string under a name we did not foresee.
            return self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list[tuple[str, Any]]:
        secrets = _configured_secrets()
        variables = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            value = self.cleanse_setting(name, value)
            if value is not self.cleansed_substitute:
                # Libraries' frames hold secrets under ordinary names (urllib3's `body` and
                # `headers`): whatever the name, the rendered value is scrubbed.
                value = _ScrubbedRepr(value, secrets, self.cleansed_substitute)
            variables.append((name, value))
        return variables


class _ScrubbedRepr:
    """Renders as the value's pretty repr with every known secret blanked out."""

    def __init__(self, value: Any, secrets: list[str], substitute: str) -> None:
        self.value = value
        self.secrets = secrets
        self.substitute = substitute

    def __repr__(self) -> str:
        try:
            text = pprint.pformat(self.value)
        except Exception as exc:  # a broken __repr__ must not break the error page
            text = f"Error in formatting: {exc.__class__.__name__}"
        return scrub(text, secrets=self.secrets, substitute=self.substitute)


def scrub(text: str, *, secrets: Iterable[str], substitute: str = "********************") -> str:
    """`text` with the given secrets, bearer tokens, access_token fields and URL passwords
    replaced by `substitute`."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, substitute)
    text = _BEARER.sub(lambda m: m.group(1) + substitute, text)
    text = _ACCESS_TOKEN_FIELD.sub(lambda m: m.group(1) + substitute, text)
    return _CREDENTIALS_IN_URL.sub(lambda m: m.group(0).split("://")[0] + "://" + substitute + "@", text)


def _configured_secrets() -> list[str]:
    """Every secret value the settings hold, in the forms it can take inside a repr."""
    values: list[str | bytes] = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    values.append(getattr(settings, "POMELO_CLIENT_SECRET", ""))
    for secret in getattr(settings, "POMELO_WEBHOOK_KEYS", {}).values():
        values.extend([secret, base64.b64encode(secret).decode()])
    for database in settings.DATABASES.values():
        values.append(database.get("PASSWORD") or "")
    found = []
    for value in values:
        if isinstance(value, bytes):
            # How bytes look inside a repr: b'\x8a...' without the quotes.
            value = repr(value)[2:-1]
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
            found.append(value)
    return found


def _as_text(value: str | bytes) -> str:
    # str(): lazy settings (django-axes' among them) pass isinstance(str) but are proxies.
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
