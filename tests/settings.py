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

from loyalty_backoffice.settings import *  # noqa: E402, F403
