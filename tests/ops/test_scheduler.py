"""The scheduler queues each slot once; the worker runs it once, under the job's lock."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from kernel.advisory_locks import advisory_lock_key
from ops.heartbeat import worker_heartbeat_age_seconds
from ops.models import JobRun
from ops.scheduling import job_run_execute, scheduler_tick
from ops.timetable import slot_for
from ops.worker import ReconnectingWorker
from rewards.models import ReconciliationRun

NOW = datetime(2026, 11, 28, 10, 7, 30, tzinfo=UTC)


def _worker_drain():
    call_command("db_worker", "--batch", "--queue-name", "*", "--interval", "0", "--no-startup-delay",
                 verbosity=0)


def test_slots_are_aligned_on_the_epoch():
    assert slot_for(now=NOW, interval_seconds=60) == datetime(2026, 11, 28, 10, 7, tzinfo=UTC)
    assert slot_for(now=NOW, interval_seconds=900) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert slot_for(now=NOW, interval_seconds=86400) == datetime(2026, 11, 28, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_a_tick_queues_each_due_job_once_and_the_worker_runs_it(database_tasks, quiet_jobs):
    queued = scheduler_tick(now=NOW)
    assert sorted(run.job for run in queued) == quiet_jobs
    assert scheduler_tick(now=NOW + timedelta(seconds=10)) == []  # same slots: nothing new
    assert DBTaskResult.objects.count() == len(quiet_jobs)

    _worker_drain()

    runs = JobRun.objects.order_by("job")
    assert [(r.job, r.status) for r in runs] == [(job, JobRun.Status.SUCCEEDED) for job in quiet_jobs]
    assert worker_heartbeat_age_seconds(name="worker") is not None
    # The next minute brings the next slot of the per-minute jobs only.
    assert sorted(r.job for r in scheduler_tick(now=NOW + timedelta(minutes=1))) == [
        "heartbeat", "submission_sweep"]


@pytest.mark.django_db
def test_a_run_killed_half_way_is_marked_failed_at_the_next_start(
    quiet_jobs, django_capture_on_commit_callbacks
):
    killed = JobRun.objects.create(job="retention", slot=NOW - timedelta(days=1),
                                   status=JobRun.Status.RUNNING, started_at=NOW - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):  # in-process tasks run after the commit
        [run] = [r for r in scheduler_tick(now=NOW) if r.job == "retention"]
    killed.refresh_from_db()
    run.refresh_from_db()
    assert killed.status == JobRun.Status.FAILED
    assert "abandoned" in killed.result
    assert killed.finished_at is not None
    assert run.status == JobRun.Status.SUCCEEDED


@pytest.mark.django_db
def test_a_failing_job_is_recorded_as_failed(quiet_jobs, settings, monkeypatch):
    from ops import timetable

    def broken():
        raise RuntimeError("no luck")

    monkeypatch.setitem(timetable.JOBS, "heartbeat", broken)
    run = JobRun.objects.create(job="heartbeat", slot=NOW)
    with pytest.raises(RuntimeError):
        job_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.result) == (JobRun.Status.FAILED, "RuntimeError: no luck")


@pytest.mark.django_db
def test_scheduled_reconciliation_marks_an_abandoned_run_failed(
    quiet_jobs, sandbox_pomelo, settings, django_capture_on_commit_callbacks
):
    settings.SCHEDULER_INTERVALS = {**settings.SCHEDULER_INTERVALS, "reconciliation": 86400}
    abandoned = ReconciliationRun.objects.create()  # "running" forever: its process was killed
    with django_capture_on_commit_callbacks(execute=True):
        [run] = [r for r in scheduler_tick(now=NOW) if r.job == "reconciliation"]
    run.refresh_from_db()
    abandoned.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED, run.result
    assert abandoned.status == ReconciliationRun.Status.FAILED
    assert ReconciliationRun.objects.filter(status=ReconciliationRun.Status.FINISHED).count() == 1


def _other_session_dsn() -> str:
    db = connection.settings_dict
    return f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_job_whose_lock_another_run_holds_is_skipped(quiet_jobs):
    run = JobRun.objects.create(job="retention", slot=NOW)
    with psycopg.connect(_other_session_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_key(name="job:retention")])
        assert job_run_execute(run_id=run.pk) == "skipped"
    run.refresh_from_db()
    assert run.status == JobRun.Status.SKIPPED
    # Once the other session is gone (killed, finished), the next slot runs.
    later = JobRun.objects.create(job="retention", slot=NOW + timedelta(days=1))
    assert "expired sessions" in job_run_execute(run_id=later.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_queue_and_run_each_job_once_per_slot(database_tasks, quiet_jobs):
    schedulers = 6
    barrier = threading.Barrier(schedulers)
    queued: list[list[JobRun]] = []
    errors: list[BaseException] = []

    def scheduler():
        try:
            barrier.wait()
            queued.append(scheduler_tick(now=NOW))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(schedulers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(run.job for runs in queued for run in runs) == quiet_jobs
    assert DBTaskResult.objects.count() == len(quiet_jobs)

    def worker(worker_id):
        ReconnectingWorker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                           startup_delay=False, max_tasks=None, worker_id=worker_id,
                           excluded_queue_names=[]).run()
        connection.close()

    # Two workers drain the queue at the same time (threads: no signal handlers).
    workers = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(JobRun.objects.values_list("job", "status")) == [
        (job, JobRun.Status.SUCCEEDED) for job in quiet_jobs]


@pytest.mark.django_db
def test_the_daily_chain_jobs_anchor_the_heads_and_record_a_verification():
    from ops.timetable import JOBS
    from rewards.models import ChainAnchor, ChainVerification

    assert JOBS["audit_anchor"]().startswith("anchor #")
    assert ChainAnchor.objects.count() == 1
    assert JOBS["audit_verify"]().endswith(": sound")
    assert ChainVerification.objects.get().sound is True
