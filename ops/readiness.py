"""What /readyz checks: each check returns None when fine, else a short reason."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


def database_problem() -> str | None:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "not ready", whatever the driver raises
        return f"database unreachable: {type(exc).__name__}"
    return None


def cache_problem() -> str | None:
    key = f"readyz:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        found = cache.get(key)
        cache.delete(key)
    except Exception as exc:
        return f"cache unreachable: {type(exc).__name__}"
    return None if found == "1" else "cache did not keep a value"


def migrations_problem() -> str | None:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"migrations unknown: {type(exc).__name__}"
    return f"{len(pending)} migration(s) not applied" if pending else None


def worker_problem() -> str | None:
    """A worker ran the scheduler's heartbeat task recently. Off when
    READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS is 0."""
    from ops.heartbeat import worker_heartbeat_age_seconds

    max_age = settings.READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS
    if not max_age:
        return None
    try:
        age = worker_heartbeat_age_seconds(name="worker")
    except Exception as exc:
        return f"heartbeat unknown: {type(exc).__name__}"
    if age is None:
        return "no worker has run the heartbeat task yet"
    return f"last worker heartbeat {age:.0f} s ago (limit {max_age} s)" if age > max_age else None


CHECKS = {
    "database": database_problem,
    "cache": cache_problem,
    "migrations": migrations_problem,
    "worker": worker_problem,
}


def readiness_report() -> tuple[bool, dict[str, str]]:
    """(ready, {check: "ok" or its problem}). Once the database fails, the checks that read it
    are reported as skipped rather than timing out one after another."""
    results: dict[str, str] = {}
    database_down = False
    for name, check in CHECKS.items():
        if database_down and name in ("migrations", "worker"):
            results[name] = "skipped: database unreachable"
            continue
        problem = check()
        results[name] = problem or "ok"
        database_down = database_down or (name == "database" and problem is not None)
    return all(value == "ok" for value in results.values()), results
