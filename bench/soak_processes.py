"""The processes a soak run starts: each in its own session, logged to a file, stopped in order.

Every process here is one this run started; it is stopped by its own id (its process group,
which it leads), never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import requests

START_TIMEOUT_SECONDS = 40.0
STOP_TIMEOUT_SECONDS = 20.0


class Process:
    """One long-running child: the stand-in Pomelo, gunicorn or a db_worker."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, log_path: Path):
        self.name = name
        self.command = command
        self.env = env
        self.cwd = cwd
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only us, and we stop it (and its children) in order.
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_http(self, url: str, *, timeout: float = START_TIMEOUT_SECONDS) -> None:
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

    def wait_log(self, text: str, *, timeout: float = START_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if text in self.log_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not log {text!r} within {timeout:.0f} s")

    def stop(self, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Children that outlived their leader (a gunicorn worker, say) are in the same group.
        self._signal_group(signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _signal_group(self, signum: int) -> None:
        if self.proc is None:
            return
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


def children(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def gunicorn_workers(master_pid: int) -> list[int]:
    """The live worker processes of one gunicorn master this run started."""
    workers = []
    for pid in children(master_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmdline:
            workers.append(pid)
    return workers


def workers_wait(master_pid: int, count: int, *, exclude: set[int], timeout: float = 30.0) -> float | None:
    """Seconds until the master again runs `count` workers none of which is in `exclude`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        live = [pid for pid in gunicorn_workers(master_pid) if pid not in exclude]
        if len(live) >= count:
            return time.monotonic() - started
        time.sleep(0.1)
    return None
