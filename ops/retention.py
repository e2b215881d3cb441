"""Retention: what grows without bound, pruned to the periods in settings.

See the README's retention table for what grows, how fast, and which setting keeps it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ops.models import JobRun
from rewards.services.reconciliation import reconciliation_results_prune
from webhooks.services import delivery_prune_rejected

BATCH = 5000


def _delete_in_batches(queryset) -> int:
    """Delete `queryset` BATCH rows per transaction, so no statement holds its locks for long."""
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH])
            if not ids:
                return deleted
            deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def task_results_prune(*, older_than_days: int) -> int:
    """Finished task results (successful or failed) older than the retention; queued and running
    ones are never touched."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    finished = DBTaskResult.objects.filter(finished_at__lt=cutoff)
    return _delete_in_batches(finished)


def job_runs_prune(*, older_than_days: int) -> int:
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return _delete_in_batches(JobRun.objects.filter(slot__lt=cutoff).exclude(status=JobRun.Status.RUNNING))


def sessions_expired_prune() -> int:
    """Django's clearsessions, counted: expired sessions are never read again."""
    return _delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()))


def retention_prune_all() -> str:
    counts = {
        "reconciliation results": reconciliation_results_prune(
            older_than_days=settings.RECONCILIATION_RESULT_RETENTION_DAYS),
        "task results": task_results_prune(older_than_days=settings.TASK_RESULT_RETENTION_DAYS),
        "job runs": job_runs_prune(older_than_days=settings.TASK_RESULT_RETENTION_DAYS),
        "expired sessions": sessions_expired_prune(),
        "rejected deliveries": delivery_prune_rejected(
            older_than_days=settings.WEBHOOK_REJECTED_RETENTION_DAYS),
    }
    return ", ".join(f"{count} {what}" for what, count in counts.items())
