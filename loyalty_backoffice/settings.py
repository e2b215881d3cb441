"""Settings: every value comes from the environment (django-environ), documented in .env.example."""

import base64
import binascii
import ipaddress
import json
import zoneinfo
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for development; the real environment always wins.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# On when we talk to the stand-in Pomelo (make run, the tests, the demo): it lifts the rule that
# Pomelo's URLs be HTTPS with real client credentials. Never on in a deployment.
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=False)
# The default key only suits DEBUG: with DEBUG off the production guard (end of file) refuses it.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The admin's theme, before the admin so its templates win. Its basic config leaves our
    # admin site in place (the default config would replace it with a plain UnfoldAdminSite).
    "unfold.apps.BasicAppConfig",
    # Django's admin with every list guarded against hostile query strings (dashboard/site.py).
    "loyalty_backoffice.apps.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Before django_tasks_db: its `db_worker` command is ours, one that survives a lost
    # database connection (ops/worker.py).
    "ops",
    "django_tasks",
    "django_tasks_db",
    "accounts",
    "rewards",
    "webhooks",
    "bulk_adjustments",
    # The stand-in Pomelo and its commands exist only where SANDBOX_ENABLED says so.
    *(["sandbox"] if SANDBOX_ENABLED else []),
    # Sign-in throttling, and staff accounts managed within the roles (after the apps whose
    # permissions the roles name: it syncs the roles after every migrate).
    "axes",
    "staff",
]

MIDDLEWARE = [
    # First: /healthz, /readyz and /metrics answer whatever Host and scheme the probe uses.
    "ops.probes.ProbeMiddleware",
    "ops.request_logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Right after the security headers: static files never touch sessions or the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After the session, before CommonMiddleware (as Django asks): the language of a request
    # nobody is signed in for (the sign-in page) comes from the browser.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Once the user is known: the language they chose replaces the browser's.
    "staff.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A maker's decided requests, shown once as messages on their next admin page.
    "loyalty_backoffice.dashboard.maker_messages.MakerNotificationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused for a lockout into the lockout page (staff.login_throttle).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "loyalty_backoffice.urls"
WSGI_APPLICATION = "loyalty_backoffice.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "loyalty_backoffice" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # The dashboard is no app of its own (the admin's AppConfig serves it), so its
            # template tags are named here: amounts and times shown one way everywhere
            # ({% load backoffice %}), and the chains' state.
            "libraries": {
                "backoffice": "loyalty_backoffice.dashboard.toolkit.display",
                "chain_status": "loyalty_backoffice.dashboard.templatetags.chain_status",
            },
        },
    },
]

# With DEBUG off a missing DATABASE_URL stops startup (production guard, end of file): falling
# back to a SQLite file in production would quietly lose every write on the next deploy.
DATABASE_URL_SET = bool(env.str("DATABASE_URL", default=""))
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# No transaction per request: each service opens its own (kernel/transactions.py), so no
# view can hold a transaction open while Pomelo answers.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: opening one costs more than the webhook intake's whole INSERT. The
# health check (a cheap ping when a request first touches a reused connection) replaces a
# connection the database or a proxy dropped instead of failing the request on it.
# Not under DEBUG: runserver answers each request on a new thread, and a connection kept by a
# finished thread is never reused, only left open.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0 if DEBUG else 600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (runserver, tests) write at once; wait for the lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # A file, not shared-cache memory: tests with a live server write from several threads,
    # and only a file database waits for locks instead of failing.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The language of anyone who has not chosen one (staff choose theirs under "Language" in the
# user menu, staff.services.user_language_set).
LANGUAGE_CODE = "en-us"
# The language page names each language in itself (staff.selectors.language_choices), so these
# English names are not translated.
LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("pt-br", "Brazilian Portuguese"),
]
# Our catalogues: our own strings, and those of django-unfold's that staff see (unfold ships
# none of its own; Django merges catalogues by message id).
LOCALE_PATHS = [BASE_DIR / "locale"]
# Times are stored in UTC and shown to staff in this zone, with the zone named beside them.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError) as _exc:
    raise ImproperlyConfigured(
        f"TIME_ZONE {TIME_ZONE!r} is not a time zone name such as America/Sao_Paulo"
    ) from _exc
USE_I18N = True
USE_TZ = True
# One date format in every language, and the separators staff write amounts with.
FORMAT_MODULE_PATH = ["loyalty_backoffice.formats"]

STATIC_URL = "static/"
# Where `collectstatic` writes; WhiteNoise serves it from there with hashed, compressed names
# and far-future cache headers.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The admin's sign-in page (unfold's) posts without a `next` field: after signing in, the home.
LOGIN_REDIRECT_URL = "admin:index"

# --- The admin's theme (django-unfold) -------------------------------------------------------
from django.urls import reverse_lazy  # noqa: E402

from loyalty_backoffice.dashboard.navigation import sidebar_navigation  # noqa: E402

UNFOLD = {
    "SITE_TITLE": _("Loyalty back office"),
    "SITE_HEADER": _("Loyalty back office"),
    "SITE_SYMBOL": "loyalty",
    "SITE_URL": "/admin/",
    "SHOW_HISTORY": False,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_BACK_BUTTON": True,
    # The user menu: each person picks the language of their pages (staff.services).
    "ACCOUNT": {
        "navigation": [
            {"title": _("Language"), "link": reverse_lazy("admin:preferences")},
        ],
    },
    "BORDER_RADIUS": "6px",
    # Teal: calm, and distinct from the red and amber that mark problems.
    "COLORS": {
        "primary": {
            "50": "oklch(98.4% .014 180.72)",
            "100": "oklch(95.3% .051 180.801)",
            "200": "oklch(91% .096 180.426)",
            "300": "oklch(85.5% .138 181.071)",
            "400": "oklch(77.7% .152 181.912)",
            "500": "oklch(70.4% .14 182.503)",
            "600": "oklch(60% .118 184.704)",
            "700": "oklch(51.1% .096 186.391)",
            "800": "oklch(43.7% .078 188.216)",
            "900": "oklch(38.6% .063 188.416)",
            "950": "oklch(27.7% .046 192.524)",
        },
    },
    # The home: tiles of what needs a person and 30-day charts, per role (operations_home.py).
    "DASHBOARD_CALLBACK": "loyalty_backoffice.dashboard.home.operations.dashboard_callback",
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": sidebar_navigation(),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

# --- HTTPS, cookies and HSTS ---------------------------------------------------------------
# Safe by default whenever DEBUG is off; each can be turned off from the environment (the test
# suite and benchmarks speak plain HTTP to local servers). Behind a proxy that terminates TLS,
# set SECURE_PROXY_SSL_HEADER, or SECURE_SSL_REDIRECT loops forever.
_HTTPS_BY_DEFAULT = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS_BY_DEFAULT)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_HTTPS_BY_DEFAULT)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_HTTPS_BY_DEFAULT)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS_BY_DEFAULT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_HTTPS_BY_DEFAULT)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_HTTPS_BY_DEFAULT)


def _proxy_ssl_header(raw: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER as `HTTP_X_FORWARDED_PROTO,https`; empty means no proxy header.

    Only set it when our own proxy always overwrites that header: otherwise a caller can claim
    HTTPS by sending it.
    """
    if not raw.strip():
        return None
    header, _, value = (part.strip() for part in raw.partition(","))
    if not header.startswith("HTTP_") or not value or "," in value:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must look like HTTP_X_FORWARDED_PROTO,https "
            f"(the request.META name, a comma, the value meaning HTTPS); got {raw!r}"
        )
    return header, value


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", default=""))

# Error pages (DEBUG) and error reports never show connection strings, keys, secrets or tokens.
DEFAULT_EXCEPTION_REPORTER_FILTER = "loyalty_backoffice.error_reports.SecretHidingExceptionReporterFilter"

# --- Client addresses -------------------------------------------------------------------
# How many reverse proxies we trust in front of the app. 0: the TCP peer (REMOTE_ADDR) is the
# client. N: the N-th address from the right of X-Forwarded-For, which our own proxies append.
# Never the left-most entry: the caller writes that one.
CLIENT_IP_TRUSTED_PROXY_COUNT = env.int("CLIENT_IP_TRUSTED_PROXY_COUNT", default=0)

# --- Pomelo webhooks ------------------------------------------------------------------------


def _webhook_keys(raw: str) -> dict[str, bytes]:
    """Parse POMELO_WEBHOOK_KEYS (JSON: api-key -> base64 api-secret) into HMAC keys."""
    try:
        parsed = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"POMELO_WEBHOOK_KEYS is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured("POMELO_WEBHOOK_KEYS must be a JSON object {api_key: secret}")
    keys = {}
    for api_key, secret in parsed.items():
        try:
            keys[str(api_key)] = base64.b64decode(str(secret), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ImproperlyConfigured(
                f"POMELO_WEBHOOK_KEYS: the secret for api-key {api_key[:6]}… is not base64"
            ) from exc
    return keys


POMELO_WEBHOOK_KEYS = _webhook_keys(env.str("POMELO_WEBHOOK_KEYS", default="{}"))
POMELO_WEBHOOK_TOLERANCE_SECONDS = env.int("POMELO_WEBHOOK_TOLERANCE_SECONDS", default=300)
POMELO_WEBHOOK_ALLOWED_IPS = env.list("POMELO_WEBHOOK_ALLOWED_IPS", default=[])
for _entry in POMELO_WEBHOOK_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"POMELO_WEBHOOK_ALLOWED_IPS: {_entry!r} is not an address") from _exc
POMELO_WEBHOOK_MAX_BODY_BYTES = env.int("POMELO_WEBHOOK_MAX_BODY_BYTES", default=64 * 1024)
WEBHOOK_REJECTED_RETENTION_DAYS = env.int("WEBHOOK_REJECTED_RETENTION_DAYS", default=30)
# The inbox worker (`manage.py inbox_worker`) applies stored deliveries in batches. With
# WEBHOOK_APPLY_INLINE (the default under DEBUG, so `make run` needs no worker; the tests set
# it too) the intake applies each delivery itself right after storing it.
# `prune_delivery_bodies` empties the bodies of applied deliveries older than this (the rows,
# and so the claims and the record, stay).
WEBHOOK_BODY_RETENTION_DAYS = env.int("WEBHOOK_BODY_RETENTION_DAYS", default=90)
WEBHOOK_APPLY_INLINE = env.bool("WEBHOOK_APPLY_INLINE", default=DEBUG)
WEBHOOK_APPLY_BATCH_SIZE = env.int("WEBHOOK_APPLY_BATCH_SIZE", default=500)
WEBHOOK_APPLY_POLL_SECONDS = env.float("WEBHOOK_APPLY_POLL_SECONDS", default=5.0)
# A delivery whose apply fails is tried again after 2, 4, 8… seconds (at most an hour), then
# shown to staff as failed.
WEBHOOK_APPLY_MAX_ATTEMPTS = env.int("WEBHOOK_APPLY_MAX_ATTEMPTS", default=8)
WEBHOOK_APPLY_RETRY_BASE_SECONDS = env.float("WEBHOOK_APPLY_RETRY_BASE_SECONDS", default=2.0)
# `manage.py inbox_status` exits non-zero when the oldest delivery waiting is older than this.
WEBHOOK_INBOX_MAX_LAG_SECONDS = env.int("WEBHOOK_INBOX_MAX_LAG_SECONDS", default=300)
for _name in ("WEBHOOK_APPLY_BATCH_SIZE", "WEBHOOK_APPLY_MAX_ATTEMPTS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
POMELO_ACCOUNT_TYPES = [
    t.strip().lower()
    for t in env.list("POMELO_ACCOUNT_TYPES", default=["points", "cashback", "miles"])
    if t.strip()
]

# --- Pomelo webhooks: intake and payload assumptions ----------------------------------------
# The path prefix in the webhook URLs Pomelo was given, when a proxy strips it before Django
# (x-endpoint names the public path). Empty: Pomelo calls the paths Django serves.
POMELO_WEBHOOK_PUBLIC_PATH_PREFIX = env.str("POMELO_WEBHOOK_PUBLIC_PATH_PREFIX", default="").rstrip("/")
if POMELO_WEBHOOK_PUBLIC_PATH_PREFIX and not POMELO_WEBHOOK_PUBLIC_PATH_PREFIX.startswith("/"):
    raise ImproperlyConfigured("POMELO_WEBHOOK_PUBLIC_PATH_PREFIX must start with /")
# What we assume about the undocumented notification fields: a signed body that breaks one of
# these rules is kept and flagged for review, never refused.
POMELO_WEBHOOK_AMOUNT_DECIMALS = env.int("POMELO_WEBHOOK_AMOUNT_DECIMALS", default=2)
if not 0 <= POMELO_WEBHOOK_AMOUNT_DECIMALS <= 2:
    raise ImproperlyConfigured("POMELO_WEBHOOK_AMOUNT_DECIMALS must be 0, 1 or 2: the ledger keeps cents")
_NOTIFICATION_KINDS = ("pending", "confirmation", "cancellation")
POMELO_WEBHOOK_NEGATIVE_AMOUNT_KINDS = [
    k.strip().lower() for k in env.list("POMELO_WEBHOOK_NEGATIVE_AMOUNT_KINDS", default=["confirmation"])
    if k.strip()
]
# event_id -> notification kind, for the single URL and to flag an event_id that contradicts
# its URL. Pomelo's samples are the default.
_event_kinds = env.json(
    "POMELO_WEBHOOK_EVENT_KINDS",
    default={"loyalty-pending": "pending", "loyalty-confirm": "confirmation",
             "loyalty-cancel": "cancellation"},
)
if not isinstance(_event_kinds, dict):
    raise ImproperlyConfigured('POMELO_WEBHOOK_EVENT_KINDS must be a JSON object {"event_id": "kind"}')
POMELO_WEBHOOK_EVENT_KINDS = {str(k).strip().lower(): str(v).strip().lower() for k, v in _event_kinds.items()}
for _kind in [*POMELO_WEBHOOK_NEGATIVE_AMOUNT_KINDS, *POMELO_WEBHOOK_EVENT_KINDS.values()]:
    if _kind not in _NOTIFICATION_KINDS:
        raise ImproperlyConfigured(
            f"unknown notification kind {_kind!r} in the webhook settings; "
            f"use {', '.join(_NOTIFICATION_KINDS)}"
        )

# --- Pomelo Loyalty API client --------------------------------------------------------------
POMELO_BASE_URL = env.str("POMELO_BASE_URL", default="http://127.0.0.1:8765").rstrip("/")
POMELO_TOKEN_URL = env.str("POMELO_TOKEN_URL", default="") or f"{POMELO_BASE_URL}/oauth/token"
# Pomelo hands back the same token until it expires, so after a 401 the token is revoked here
# before a new one is fetched. Empty: next to the token URL (POMELO_TOKEN_URL + /revoke).
POMELO_TOKEN_REVOKE_URL = env.str("POMELO_TOKEN_REVOKE_URL", default="")
# Pomelo documents the revoke endpoint but not its body: "json" (like the token request) or
# "form" (OAuth's revocation standard). Either way it carries the token and the client credentials.
POMELO_TOKEN_REVOKE_FORMAT = env.str("POMELO_TOKEN_REVOKE_FORMAT", default="json")
POMELO_CLIENT_ID = env.str("POMELO_CLIENT_ID", default="")
POMELO_CLIENT_SECRET = env.str("POMELO_CLIENT_SECRET", default="")
POMELO_AUDIENCE = env.str("POMELO_AUDIENCE", default="")
POMELO_CONNECT_TIMEOUT_SECONDS = env.float("POMELO_CONNECT_TIMEOUT_SECONDS", default=3.05)
POMELO_READ_TIMEOUT_SECONDS = env.float("POMELO_READ_TIMEOUT_SECONDS", default=10.0)
POMELO_MAX_RETRIES = env.int("POMELO_MAX_RETRIES", default=3)
POMELO_RETRY_BACKOFF_SECONDS = env.float("POMELO_RETRY_BACKOFF_SECONDS", default=0.5)
POMELO_RETRY_BACKOFF_MAX_SECONDS = env.float("POMELO_RETRY_BACKOFF_MAX_SECONDS", default=30.0)
# Whether Pomelo wants amounts as JSON numbers or strings is undocumented: "number" | "string".
POMELO_AMOUNT_FORMAT = env.str("POMELO_AMOUNT_FORMAT", default="number")

# --- Background tasks (Django's Tasks API; the django-tasks backport on 5.2) ------------------
# With DEBUG off (production) tasks queue in the database and `manage.py db_worker` runs them, so
# no web request ever waits on Pomelo. With DEBUG on (`make run`) they run in-process, after the
# request's commit; the tests choose the in-process backend themselves.
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="") or (
    "django_tasks.backends.immediate.ImmediateBackend" if DEBUG else "django_tasks_db.DatabaseBackend"
)}}

# --- Adjustments ----------------------------------------------------------------------------
ADJUSTMENT_EXPIRY_HOURS = env.int("ADJUSTMENT_EXPIRY_HOURS", default=72)
ADJUSTMENT_SECOND_APPROVAL_ABOVE = {
    k: Decimal(str(v))
    for k, v in env.json(
        "ADJUSTMENT_SECOND_APPROVAL_ABOVE",
        default={"points": "10000", "cashback": "500", "miles": "10000"},
    ).items()
}

# --- Adjustments: submission to Pomelo -----------------------------------------------------
# A worker that claimed a submission and recorded nothing for this long is presumed dead; the
# submission is then resumed with the same idempotency key. Longer than one call with all its
# retries (see the README), shorter than the idempotency window.
ADJUSTMENT_SUBMISSION_LEASE_SECONDS = env.int("ADJUSTMENT_SUBMISSION_LEASE_SECONDS", default=90)
# How long after the first send Pomelo is assumed to remember an idempotency key (undocumented;
# its convention elsewhere is three minutes). Automatic retries and resumes happen only inside
# it; after it a person decides.
ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS = env.int("ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS", default=180)
if not 0 < ADJUSTMENT_SUBMISSION_LEASE_SECONDS < ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS:
    raise ImproperlyConfigured(
        "ADJUSTMENT_SUBMISSION_LEASE_SECONDS must be positive and shorter than "
        "ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS, or a dead worker's submission could only be "
        "resumed after Pomelo may have forgotten its key."
    )
# Whether Pomelo lets a burn take a balance below zero. When it does not, a debit above the
# available balance is refused at request and at approval, and no override is offered.
POMELO_ALLOWS_NEGATIVE_BALANCE = env.bool("POMELO_ALLOWS_NEGATIVE_BALANCE", default=False)

# --- Bulk adjustments (a CSV file of credits and debits under one approval) ----------------------
BULK_ADJUSTMENT_MAX_ROWS = env.int("BULK_ADJUSTMENT_MAX_ROWS", default=10_000)
BULK_ADJUSTMENT_MAX_FILE_BYTES = env.int("BULK_ADJUSTMENT_MAX_FILE_BYTES", default=2 * 1024 * 1024)
# How many of a batch's adjustments the worker sends to Pomelo at once.
BULK_ADJUSTMENT_SUBMIT_CONCURRENCY = env.int("BULK_ADJUSTMENT_SUBMIT_CONCURRENCY", default=4)
if min(BULK_ADJUSTMENT_MAX_ROWS, BULK_ADJUSTMENT_MAX_FILE_BYTES, BULK_ADJUSTMENT_SUBMIT_CONCURRENCY) < 1:
    raise ImproperlyConfigured(
        "BULK_ADJUSTMENT_MAX_ROWS, BULK_ADJUSTMENT_MAX_FILE_BYTES and "
        "BULK_ADJUSTMENT_SUBMIT_CONCURRENCY must be positive."
    )

# --- Staff sign-in and accounts ----------------------------------------------------------------
# django-axes counts failed sign-ins per username and client address (our own rule,
# client_ip.py, never a raw X-Forwarded-For) and refuses that pair for a while after too many.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "kernel.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lockout neither extend it nor count as new failures.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "staff.login_throttle.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "csrfmiddlewaretoken"]
AXES_ENABLE_ADMIN = False  # dashboard/staff/admin.py registers read-only lists with an audited unlock
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME <= timedelta(0):
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be positive")

# Password reset links, sent by an administrator (never a password): valid this many hours.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_HOURS", default=72) * 3600
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_SECONDS", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="backoffice@localhost")

# --- Logs, metrics, error reports ------------------------------------------------------------
# "json": one JSON object per line, a request id on each, a traceback in one field (production).
# "plain": readable lines for a terminal (the default with DEBUG on).
LOG_FORMAT = env.str("LOG_FORMAT", default="") or ("plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ops.request_logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "ops.request_logging.OneLineJsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT,
                             "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own handler for django.request mails admins and prints a second copy; the
    # root handler above is the only one.
    "loggers": {"django": {"handlers": [], "propagate": True}},
}

# Addresses (or networks) allowed to read /metrics; the TCP peer is checked, never a header.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"])
for _entry in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_entry!r} is not an address") from _exc
# /readyz fails when no worker has run the scheduler's heartbeat task for this long; 0 skips it.
READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=300)

# Optional error reports to Sentry (or a compatible service): off while SENTRY_DSN is empty.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration()],
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        # Request bodies carry webhook payloads and staff input: never sent.
        send_default_pii=False,
        max_request_body_size="never",
    )

# --- Scheduled jobs (manage.py scheduler) and retention -------------------------------------------
# Seconds between runs of each job; 0 turns one off. Slots are aligned on the Unix epoch in UTC
# (86400: every day at 00:00 UTC). Override any of them with SCHEDULER_INTERVALS (JSON).
_DEFAULT_SCHEDULE = {
    "heartbeat": 60,
    "submission_sweep": 60,
    "adjustment_expiry": 900,
    "reconciliation": 86400,
    "audit_anchor": 86400,
    "audit_verify": 86400,
    "retention": 86400,
}
_schedule_overrides = json.loads(env.str("SCHEDULER_INTERVALS", default="") or "{}")
if not isinstance(_schedule_overrides, dict):
    raise ImproperlyConfigured('SCHEDULER_INTERVALS must be a JSON object {"job": seconds}')
SCHEDULER_INTERVALS = {**_DEFAULT_SCHEDULE, **_schedule_overrides}
for _job, _seconds in SCHEDULER_INTERVALS.items():
    if _job not in _DEFAULT_SCHEDULE or not isinstance(_seconds, int) or _seconds < 0:
        raise ImproperlyConfigured(
            f"SCHEDULER_INTERVALS: {_job!r}: {_seconds!r} — use whole seconds (0 turns a job off) "
            f"for {', '.join(_DEFAULT_SCHEDULE)}"
        )
SCHEDULER_TICK_SECONDS = env.int("SCHEDULER_TICK_SECONDS", default=15)
RECONCILIATION_RESULT_RETENTION_DAYS = env.int("RECONCILIATION_RESULT_RETENTION_DAYS", default=90)
TASK_RESULT_RETENTION_DAYS = env.int("TASK_RESULT_RETENTION_DAYS", default=14)
if RECONCILIATION_RESULT_RETENTION_DAYS < 1 or TASK_RESULT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        "RECONCILIATION_RESULT_RETENTION_DAYS and TASK_RESULT_RETENTION_DAYS must be at least 1"
    )

# --- Production guard -----------------------------------------------------------------------
# Last, so it sees every value above. With DEBUG off, unsafe values stop every process
# (web, workers, commands) at startup with a message naming the setting.
from loyalty_backoffice.production_guard import production_settings_refuse  # noqa: E402

production_settings_refuse(
    debug=DEBUG,
    sandbox_enabled=SANDBOX_ENABLED,
    secret_key=SECRET_KEY,
    webhook_keys=POMELO_WEBHOOK_KEYS,
    pomelo_urls={
        "POMELO_BASE_URL": POMELO_BASE_URL,
        "POMELO_TOKEN_URL": POMELO_TOKEN_URL,
        # When empty it follows POMELO_TOKEN_URL, checked above.
        **({"POMELO_TOKEN_REVOKE_URL": POMELO_TOKEN_REVOKE_URL} if POMELO_TOKEN_REVOKE_URL else {}),
    },
    pomelo_client_id=POMELO_CLIENT_ID,
    pomelo_client_secret=POMELO_CLIENT_SECRET,
    database_url_set=DATABASE_URL_SET,
    allowed_hosts_set=bool(env.str("ALLOWED_HOSTS", default="").strip()),
    csrf_trusted_origins=CSRF_TRUSTED_ORIGINS,
    tasks_backend=TASKS["default"]["BACKEND"],
)
