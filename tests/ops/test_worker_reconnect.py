"""The worker outlives its database connection being cut (a restart, a failover, a proxy)."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from ops.models import JobRun
from ops.scheduling import _job_run_enqueue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _queue_heartbeat(minute: int) -> JobRun:
    slot = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minute)
    run = JobRun.objects.create(job="heartbeat", slot=slot)
    _job_run_enqueue(run)
    return run


def _wait_done(run: JobRun, worker: subprocess.Popen, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status not in (JobRun.Status.QUEUED, JobRun.Status.RUNNING):
            return run.status
        assert worker.poll() is None, f"the worker exited with {worker.returncode}"
        time.sleep(0.1)
    return run.status


def _cut_the_workers_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_worker_reconnects_after_its_connection_is_cut_twice(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    env = {**os.environ, "DATABASE_URL": _database_url(),
           "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings",
           "TASKS_BACKEND": "django_tasks_db.DatabaseBackend", "DATABASE_CONN_MAX_AGE": "600",
           "LOG_FORMAT": "json"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2",
         "--no-startup-delay"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert _wait_done(_queue_heartbeat(0), worker) == JobRun.Status.SUCCEEDED
        for _ in range(2):  # twice in a row, as in the incident
            assert _cut_the_workers_connections() >= 1
            time.sleep(0.5)
        assert _wait_done(_queue_heartbeat(1), worker) == JobRun.Status.SUCCEEDED
        assert worker.poll() is None
    finally:
        worker.terminate()
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
