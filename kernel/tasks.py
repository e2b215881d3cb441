"""Queueing a background task from inside a transaction, in one place.

With the database backend (production) the task's row is written in the caller's transaction,
so the task and what it acts on commit together or not at all: a claim and its watchdog, an
approval and its submission, a scheduler slot and its run, an export and its anchor. Other
backends (in-process, for development and tests) would run the task at once, inside the
transaction and before its writes are visible to anyone else: they are called after the commit.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django_tasks_db.backend import DatabaseBackend


def task_enqueue_in_transaction(task: Any, *, run_after: datetime | None = None, **kwargs: Any) -> None:
    """Queue `task(**kwargs)` so that it sees this transaction's writes and never runs if the
    transaction rolls back. `run_after` defers it where the backend can; where it cannot, the
    task is not queued (the callers that defer have a sweep that catches up)."""
    backend = task.get_backend()
    if run_after is not None:
        if not backend.supports_defer:
            return
        task = task.using(run_after=run_after)
    if isinstance(backend, DatabaseBackend):
        task.enqueue(**kwargs)
    else:
        transaction.on_commit(lambda: task.enqueue(**kwargs))
