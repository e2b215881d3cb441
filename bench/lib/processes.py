"""Child processes a suite starts (gunicorn, the stand-in Pomelo, workers, manage.py).

Each runs in its own session, logs to a file, and is stopped by its own process group, which it
leads: never by name. Servers bind free ports, so several runs can share the machine.
"""

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from bench.lib.pg import database_recreate, database_url

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ACCOUNT_TYPES = ("points", "cashback", "miles")
# A key pair made for this run: with DEBUG off the app refuses Pomelo's published test pair.
API_KEY = "bench-" + secrets.token_urlsafe(16)
API_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()


def app_env(database: str, **overrides: str) -> dict[str, str]:
    """The app's environment against `database`: production settings, plain HTTP on loopback."""
    env = os.environ.copy()
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.lib.settings",
        "DATABASE_URL": database_url(database),
        "DATABASE_CONN_MAX_AGE": "60",
        "POMELO_WEBHOOK_KEYS": json.dumps({API_KEY: API_SECRET}),
        "POMELO_WEBHOOK_TOLERANCE_SECONDS": "300",
        "POMELO_WEBHOOK_ALLOWED_IPS": "",
        "POMELO_ACCOUNT_TYPES": ",".join(ACCOUNT_TYPES),
        "CLIENT_IP_TRUSTED_PROXY_COUNT": "0",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
        "DEBUG": "False",
        "SANDBOX_ENABLED": "true",  # the stand-in Pomelo, as in the tests
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": f"{HOST},testserver",
        "CSRF_TRUSTED_ORIGINS": f"http://{HOST}",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


def manage(env: dict[str, str], *command: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def manage_ok(env: dict[str, str], *command: str) -> str:
    """Run a manage.py command that must succeed; its output."""
    done = manage(env, *command)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(command)} exited {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return done.stdout


def database_migrated(database: str, env: dict[str, str]) -> None:
    """Drop and create `database`, then migrate it with the app's environment `env`."""
    print(f"creating {database} and migrating")
    database_recreate(database)
    manage_ok(env, "migrate", "--noinput")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Process:
    """One long-running child, logged to `log_path`."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_path: Path):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> "Process":
        self._log = open(self.log_path, "wb")  # closed in stop()
        # Its own session: Ctrl-C reaches only us, and we stop it (and its children) in order.
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_http(self, url: str, *, timeout: float = 40.0) -> None:
        """Until anything answers HTTP at `url` (any status), or the process dies, or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                requests.get(url, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer at {url} within {timeout:.0f} s")

    def stop(self, *, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)  # gunicorn's master stops its workers gracefully
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # children that outlived their leader
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.proc.pid, signum)  # the group this process leads (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def gunicorn(env: dict[str, str], *, port: int, workers: int, log_dir: Path,
             app: str = "loyalty_backoffice.wsgi:application", extra: tuple[str, ...] = ()) -> Process:
    """gunicorn with sync workers (2 x cores on a 2-core machine: threads did no better)."""
    command = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
        "--bind", f"{HOST}:{port}", "--backlog", "512", "--timeout", "60", "--keep-alive", "5",
        "--log-level", "warning", *extra, app,
    ]
    return Process("gunicorn", command, env=env, log_path=log_dir / f"gunicorn-{port}.log")


def children(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def workers_wait(master_pid: int, count: int, *, exclude: set[int], timeout: float = 30.0) -> float | None:
    """Seconds until a gunicorn master again runs `count` workers none of which is in `exclude`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if len([pid for pid in children(master_pid) if pid not in exclude]) >= count:
            return time.monotonic() - started
        time.sleep(0.1)
    return None
