"""CPU seconds spent by each party of a run (Linux /proc): client, gunicorn, PostgreSQL."""

import os
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.lib.pg import backend_pids
from bench.lib.processes import children

_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """utime + stime of one process in seconds; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass(frozen=True)
class CpuUse:
    client: float = 0.0  # this process: the sending threads
    server: float = 0.0  # gunicorn master and workers
    database: float = 0.0  # PostgreSQL backends connected to the benchmark's database

    def __add__(self, other: "CpuUse") -> "CpuUse":
        return CpuUse(self.client + other.client, self.server + other.server, self.database + other.database)

    def per_request(self, requests: int) -> str:
        per = 1000 / max(1, requests)
        return (f"gunicorn {self.server * per:.2f} ms, PostgreSQL {self.database * per:.2f} ms, "
                f"client {self.client * per:.2f} ms")


@dataclass(frozen=True)
class CpuSample:
    client: float
    server: dict[int, float]
    database: dict[int, float]

    def __sub__(self, before: "CpuSample") -> CpuUse:
        # Per process, so a worker or backend that appears mid-phase is counted from zero.
        def spent(now: dict[int, float], then: dict[int, float]) -> float:
            return sum(seconds - then.get(pid, 0.0) for pid, seconds in now.items())

        return CpuUse(self.client - before.client, spent(self.server, before.server),
                      spent(self.database, before.database))


def cpu_sample(server_pid: int | None, database: str) -> CpuSample:
    server = {}
    if server_pid is not None:
        server = {pid: process_cpu(pid) for pid in [server_pid, *children(server_pid)]}
    try:
        backends = {pid: process_cpu(pid) for pid in backend_pids(database)}
    except psycopg.Error:
        backends = {}
    return CpuSample(time.process_time(), server, backends)
