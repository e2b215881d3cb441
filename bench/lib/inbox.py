"""Inbox workers as child processes, and killing one while it holds a batch."""

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.lib.pg import database_connect
from bench.lib.processes import Process


def inbox_worker(env: dict[str, str], log_dir: Path, name: str, *options: str) -> Process:
    # PGAPPNAME names the worker's PostgreSQL session, so a killer can find who holds a batch.
    return Process(name, [sys.executable, "manage.py", "inbox_worker", *options],
                   env={**env, "PGAPPNAME": name}, log_path=log_dir / f"{name}.log")


def inbox_backlog(database: str) -> int:
    with database_connect(database) as conn:
        return conn.execute(
            "SELECT count(*) FROM webhooks_delivery WHERE outcome = 'received'").fetchone()[0]


def inbox_wait_empty(database: str, *, timeout: float) -> tuple[int, float]:
    """(deliveries still received, seconds waited) once the inbox is empty or at `timeout`."""
    started = time.monotonic()
    while (left := inbox_backlog(database)) and time.monotonic() - started < timeout:
        time.sleep(0.2)
    return left, time.monotonic() - started


def batch_holders(database: str) -> set[str]:
    """Names (application_name) of the sessions inside a batch: holding delivery rows FOR
    UPDATE takes ROW SHARE on the table, while the intake's INSERTs take ROW EXCLUSIVE."""
    with database_connect(database) as conn:
        return {name for (name,) in conn.execute(
            "SELECT DISTINCT a.application_name FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE c.relname = 'webhooks_delivery' AND l.mode = 'RowShareLock'")}


@dataclass
class InboxKiller:
    """Kills (SIGKILL) an inbox worker while it holds a batch, `kills` times, and starts
    another in its place with `spawn(name)`."""

    workers: list[Process]
    spawn: Callable[[str], Process]
    kills: int
    database: str
    stop: threading.Event
    done: list[str] = field(default_factory=list)

    def run(self) -> None:
        while len(self.done) < self.kills and not self.stop.is_set():
            holders = batch_holders(self.database)
            victim = next((w for w in self.workers if w.alive() and w.name in holders), None)
            if victim is None:
                time.sleep(0.02)
                continue
            os.killpg(victim.pid, signal.SIGKILL)  # a process group this run started
            victim.proc.wait(timeout=10)
            self.workers.remove(victim)
            self.workers.append(self.spawn(f"inbox-worker-r{len(self.done) + 1}").start())
            self.done.append(f"{victim.name} killed holding a batch "
                             f"(backlog {inbox_backlog(self.database)})")
            time.sleep(1.0)  # let the others and the new one run a while

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="inbox-killer", daemon=True)
        thread.start()
        return thread
