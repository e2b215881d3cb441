"""The intake behind the production server: gunicorn hands a chunked body over without
Content-Length, and the app must read it to its end (Django's own request reads nothing)."""

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.db import connection

from tests.conftest import (
    WEBHOOK_PATHS,
    balances,
    notification_body,
    signed_headers,
)
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]
# With DEBUG off the server refuses Pomelo's published test pair, so it gets a pair of its own.
API_KEY = "gunicorn-test"
API_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def gunicorn_url():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # a free port, held by us until gunicorn inherits it
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = {**os.environ, "DATABASE_URL": _database_url(), "ALLOWED_HOSTS": "127.0.0.1",
           "POMELO_WEBHOOK_KEYS": json.dumps({API_KEY: API_SECRET}), "LOG_LEVEL": "WARNING",
           "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings"}
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
        [sys.executable, "-m", "gunicorn", "--bind", f"fd://{listener.fileno()}", "--workers", "1",
         "--log-level", "warning", "loyalty_backoffice.wsgi:application"],
        cwd=ROOT, env=env, pass_fds=[listener.fileno()],
    )
    try:
        for _ in range(150):
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}")
            try:
                # The socket is already listening, so this waits for the worker to boot,
                # which takes several seconds on a loaded machine.
                requests.get(url + "/admin/login/", timeout=30)
                break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        listener.close()


def test_chunked_notification_through_gunicorn_is_read_whole(gunicorn_url):
    path = WEBHOOK_PATHS["pending"]
    body = json.dumps(notification_body("pending", "ctx-chunked", amount="12.34")).encode()
    headers = {**signed_headers(body, path, api_key=API_KEY, secret=API_SECRET),
               "content-type": "application/json"}

    def chunks():  # a generator: requests sends it chunked, without Content-Length
        for start in range(0, len(body), 7):
            yield body[start:start + 7]

    response = requests.post(gunicorn_url + path, data=chunks(), headers=headers, timeout=30)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processed"
    delivery = Delivery.objects.get(pk=response.json()["delivery_id"])
    assert bytes(delivery.body) == body
    assert delivery.headers.get("transfer-encoding") == "chunked" and "content-length" not in delivery.headers
    assert balances() == (Decimal("12.34"), Decimal("0"))
