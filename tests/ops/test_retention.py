"""Retention: old reconciliation results, task results, job runs and sessions are pruned;
everything recent, queued or running stays."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Member
from ops.models import JobRun
from ops.retention import retention_prune_all
from ops.tasks import job_run_task
from rewards.models import ReconciliationResult, ReconciliationRun

pytestmark = pytest.mark.django_db


def _run_with_result(*, days_ago: int, member: Member) -> ReconciliationRun:
    started = timezone.now() - timedelta(days=days_ago)
    run = ReconciliationRun.objects.create(started_at=started, finished_at=started,
                                           status=ReconciliationRun.Status.FINISHED)
    ReconciliationResult.objects.create(run=run, member=member, account_type="points",
                                        ledger_available=Decimal("1.00"), checked_at=started)
    return run


def _task_result(*, finished_days_ago: int | None) -> DBTaskResult:
    result = DBTaskResult.objects.create(
        task_path=job_run_task.module_path, args_kwargs={"args": [], "kwargs": {"run_id": 1}},
        backend_name="default", run_after=timezone.now(), queue_name="default",
        status="SUCCESSFUL" if finished_days_ago is not None else "READY",
        finished_at=None if finished_days_ago is None else timezone.now() - timedelta(days=finished_days_ago),
    )
    return result


def test_retention_prunes_what_is_older_than_its_setting(settings):
    settings.RECONCILIATION_RESULT_RETENTION_DAYS = 30
    settings.TASK_RESULT_RETENTION_DAYS = 7
    member = Member.objects.create(pomelo_user_id="usr-retention")
    old_run = _run_with_result(days_ago=31, member=member)
    recent_run = _run_with_result(days_ago=29, member=member)
    old_task = _task_result(finished_days_ago=8)
    recent_task = _task_result(finished_days_ago=6)
    queued_task = _task_result(finished_days_ago=None)
    old_job = JobRun.objects.create(job="heartbeat", slot=timezone.now() - timedelta(days=8),
                                    status=JobRun.Status.SUCCEEDED)
    recent_job = JobRun.objects.create(job="heartbeat", slot=timezone.now() - timedelta(days=1),
                                       status=JobRun.Status.SUCCEEDED)
    expired = SessionStore()
    expired.set_expiry(-10)
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=10))
    live = SessionStore()
    live.create()

    summary = retention_prune_all()

    assert "1 reconciliation results" in summary and "1 expired sessions" in summary
    assert list(ReconciliationResult.objects.values_list("run_id", flat=True)) == [recent_run.pk]
    # The runs themselves (their totals) stay.
    assert ReconciliationRun.objects.filter(pk=old_run.pk).exists()
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {recent_task.id, queued_task.id}
    assert old_task.id not in set(DBTaskResult.objects.values_list("id", flat=True))
    assert list(JobRun.objects.values_list("pk", flat=True)) == [recent_job.pk]
    assert not JobRun.objects.filter(pk=old_job.pk).exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
