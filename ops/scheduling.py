"""The scheduler's services: put each due slot's job on the queue once, and run it once.

A slot is claimed by inserting its JobRun row: the (job, slot) unique constraint lets one
scheduler win and the others' inserts fail, so running two schedulers (a deploy overlapping
the old one, two hosts) never runs a job twice. Running a job takes an advisory lock named
after it, so a slow run and the next slot's never overlap.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.advisory_locks import advisory_lock_try
from kernel.tasks import task_enqueue_in_transaction
from ops.models import JobRun
from ops.timetable import JOBS, job_intervals, slot_for

logger = logging.getLogger("ops.scheduler")


def scheduler_tick(*, now: datetime | None = None) -> list[JobRun]:
    """Queue every job whose current slot nobody has queued yet; return the runs queued here."""
    now = now or timezone.now()
    queued = []
    for job, interval in job_intervals().items():
        slot = slot_for(now=now, interval_seconds=interval)
        try:
            with transaction.atomic(durable=True):
                run = JobRun.objects.create(job=job, slot=slot)
                _job_run_enqueue(run)
        except IntegrityError:
            continue  # another scheduler claimed this slot first
        logger.info("queued %s for slot %s", job, slot.isoformat())
        queued.append(run)
    return queued


def _job_run_enqueue(run: JobRun) -> None:
    from ops.tasks import job_run_task

    # A slot is never claimed without its task, nor queued twice.
    task_enqueue_in_transaction(job_run_task, run_id=run.pk)


def _run_status_set(run: JobRun, status: str, *, result: str = "", finished: bool = False) -> None:
    run.status = status
    run.result = result[:2000]
    fields = ["status", "result"]
    if finished:
        run.finished_at = timezone.now()
        fields.append("finished_at")
    with transaction.atomic(durable=True):
        run.save(update_fields=fields)


def job_run_execute(*, run_id: int) -> str:
    """Run one queued slot under its job's advisory lock.

    Holding the lock proves no other run of this job is alive (a killed process's connection,
    and with it its lock, is gone), so any run of the job still marked "running" was killed
    half-way: it is marked failed here, at the next start.
    """
    run = JobRun.objects.get(pk=run_id)
    if run.status != JobRun.Status.QUEUED:
        return f"already {run.status}"
    with advisory_lock_try(name=f"job:{run.job}") as acquired:
        if not acquired:
            _run_status_set(run, JobRun.Status.SKIPPED, result="another run held the lock", finished=True)
            return "skipped"
        with transaction.atomic(durable=True):
            abandoned = JobRun.objects.filter(job=run.job, status=JobRun.Status.RUNNING).exclude(pk=run.pk)
            abandoned_count = abandoned.update(
                status=JobRun.Status.FAILED, finished_at=timezone.now(),
                result="abandoned: its process stopped before it finished",
            )
            run.status, run.started_at = JobRun.Status.RUNNING, timezone.now()
            run.save(update_fields=["status", "started_at"])
        if abandoned_count:
            logger.warning("%s: %d abandoned run(s) marked failed", run.job, abandoned_count)
        try:
            summary = JOBS[run.job]()
        except Exception as exc:
            logger.exception("scheduled job %s failed", run.job)
            _run_status_set(run, JobRun.Status.FAILED, result=f"{type(exc).__name__}: {exc}", finished=True)
            raise
        _run_status_set(run, JobRun.Status.SUCCEEDED, result=summary, finished=True)
        return summary
