"""gunicorn as a deployment runs it: DEBUG off, deploy/gunicorn.conf.py, `collectstatic` first,
JSON logs. For tests that need the production server rather than Django's test server."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "production-server-test"
API_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()


def shared_database_url() -> str:
    """The URL of the database this test run uses, for a server in another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def unreachable_database_url() -> str:
    """A PostgreSQL URL on a port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgres://postgres@127.0.0.1:{port}/gone"


@dataclass
class Server:
    url: str
    log: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()


def production_environ(*, static_root: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "METRICS_ALLOWED_IPS": "127.0.0.1",
        "POMELO_WEBHOOK_KEYS": json.dumps({API_KEY: API_SECRET}),
        **extra,
    }


def collectstatic(static_root: Path) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, check=True,
        env=production_environ(static_root=static_root, database_url=shared_database_url()), timeout=300,
    )


@contextlib.contextmanager
def gunicorn_server(*, static_root: Path, database_url: str, log: Path, **extra: str) -> Iterator[Server]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # a free port, held by us until gunicorn inherits it
    listener.listen(16)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    env = production_environ(static_root=static_root, database_url=database_url,
                             GUNICORN_BIND=f"fd://{listener.fileno()}", WEB_CONCURRENCY="2", **extra)
    with log.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT, env=env, pass_fds=[listener.fileno()], stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
                try:
                    requests.get(url + "/healthz", timeout=30)  # waits for a worker to boot
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            yield Server(url=url, log=log)
        finally:
            proc.terminate()
            proc.wait(timeout=40)
            listener.close()
