"""Settings for the test suite: the real settings module, with the environment a test run needs.

The values go into the environment, not into this module, so servers and commands the tests
start in subprocesses (manage.py, gunicorn) read the same configuration. DEBUG stays off, as in
production; the production guard's Pomelo rules are lifted by SANDBOX_ENABLED because the tests
talk to the stand-in Pomelo.
"""

import os
import secrets

os.environ.setdefault("SANDBOX_ENABLED", "true")
os.environ.setdefault("SECRET_KEY", "tests-" + secrets.token_urlsafe(48))
# The test client, live servers and the browser tests speak plain HTTP to 127.0.0.1.
for _name in ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
    os.environ.setdefault(_name, "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
# Live servers (the browser tests) answer each request on a new thread: a persistent connection
# would stay open after its thread ends, one per request, until PostgreSQL runs out of them.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
# Each delivery is applied right after it is stored, as under `make run`; the inbox worker's
# own tests turn this off.
os.environ.setdefault("WEBHOOK_APPLY_INLINE", "true")
# With DEBUG off these must be set (the production guard); the tests' own values.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_ROOT}/db.sqlite3")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1,http://localhost")
# Readable log lines in a failing test's captured output.
os.environ.setdefault("LOG_FORMAT", "plain")

from loyalty_backoffice.settings import *  # noqa: E402, F403

# Pages render without `collectstatic` in the tests; the deployment tests run collectstatic and
# serve the hashed names through gunicorn (tests/deploy/test_gunicorn_production.py).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
