"""The worker's heartbeat: a row a queued task rewrites, which readiness reads."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ops.models import WorkerHeartbeat


@transaction.atomic(durable=True)
def worker_heartbeat_record(*, name: str) -> datetime:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(name=name, defaults={"beat_at": now})
    return now


def worker_heartbeat_age_seconds(*, name: str) -> float | None:
    """Seconds since the worker last ran the heartbeat task; None when it never has."""
    beat = WorkerHeartbeat.objects.filter(name=name).values_list("beat_at", flat=True).first()
    return None if beat is None else (timezone.now() - beat).total_seconds()
