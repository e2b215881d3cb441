""""Run now" on the reconciliation list: one queued run at a time, run by the worker under the
scheduler's lock against the stand-in Pomelo, shown with its progress; administrators only."""

import threading
from datetime import timedelta

import psycopg
import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from kernel.advisory_locks import advisory_lock_key
from rewards.models import AuditEntry, ReconciliationRun
from rewards.services.reconciliation import (
    QUEUED_RUN_MAX_AGE,
    RECONCILIATION_LOCK,
    ReconciliationBusy,
    reconciliation_request,
    reconciliation_requested_execute,
)

LIST = "/admin/rewards/reconciliationrun/"
RUN_NOW = f"{LIST}run-now/"
Status = ReconciliationRun.Status


@pytest.fixture
def database_tasks(settings):
    """Tasks queued in the database, as in production, for a worker to run."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def pomelo(sandbox_pomelo, member):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    return sandbox_pomelo


def _worker_drain():
    call_command("db_worker", "--batch", "--queue-name", "*", "--interval", "0",
                 "--no-startup-delay", verbosity=0)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _other_session_dsn() -> str:
    db = connection.settings_dict
    return (f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} "
            f"dbname={db['NAME']}")


@pytest.mark.django_db(transaction=True)
def test_run_now_queues_one_task_that_the_worker_runs_against_pomelo(
    client, make_staff, pomelo, database_tasks
):
    admin = make_staff("administrator", "Administrator")
    client.force_login(admin)
    response = client.post(RUN_NOW)
    assert response.status_code == 302 and response["Location"] == LIST
    run = ReconciliationRun.objects.get()
    assert (run.status, run.started_by) == (Status.QUEUED, admin)
    assert DBTaskResult.objects.count() == 1
    assert _messages(response) == [
        f"Reconciliation run #{run.pk} is queued; this page follows it until it ends."]
    audit = AuditEntry.objects.get(action=AuditEntry.Action.RECONCILIATION_REQUESTED)
    assert (audit.actor, audit.data) == (admin, {"run": run.pk})

    html = client.get(LIST).content.decode()
    assert f"Run #{run.pk} is queued" in html
    assert '<meta http-equiv="refresh" content="5">' in html

    _worker_drain()

    run.refresh_from_db()
    assert (run.status, run.members_checked, run.members_total) == (Status.FINISHED, 1, 1)
    assert run.results.get().pomelo_available == 100
    html = client.get(LIST).content.decode()
    assert 'http-equiv="refresh"' not in html and 'id="reconciliation-active"' not in html
    assert "recon-status recon-finished" in html and "1 of 1" in html


@pytest.mark.django_db
def test_a_second_click_while_one_is_queued_queues_nothing(client, make_staff, database_tasks):
    client.force_login(make_staff("administrator", "Administrator"))
    client.post(RUN_NOW)
    first = ReconciliationRun.objects.get()
    response = client.post(RUN_NOW)
    assert _messages(response)[-1] == (
        f"Reconciliation run #{first.pk} is already queued; nothing new was queued.")
    assert ReconciliationRun.objects.count() == 1 and DBTaskResult.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditEntry.Action.RECONCILIATION_REQUESTED).count() == 1
    assert "disabled" in client.get(LIST).content.decode().split('id="reconciliation-run-now"')[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_click_while_a_run_holds_the_lock_queues_nothing_and_a_dead_run_does_not_block(
    client, make_staff, database_tasks
):
    client.force_login(make_staff("administrator", "Administrator"))
    running = ReconciliationRun.objects.create(status=Status.RUNNING)
    with psycopg.connect(_other_session_dsn(), autocommit=True) as other:
        # The scheduled run's worker: it holds the lock while it runs.
        other.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_key(name=RECONCILIATION_LOCK)])
        response = client.post(RUN_NOW)
        assert _messages(response) == [
            f"Reconciliation run #{running.pk} is already running; nothing new was queued."]
        assert ReconciliationRun.objects.count() == 1 and DBTaskResult.objects.count() == 0
        html = client.get(LIST).content.decode()
        assert f"Run #{running.pk} is running: 0 members checked so far." in html

    # The worker died (its session, and with it the lock, is gone): the run it left "running"
    # is marked failed and a new one is queued.
    response = client.post(RUN_NOW)
    running.refresh_from_db()
    assert running.status == Status.FAILED
    assert ReconciliationRun.objects.filter(status=Status.QUEUED).count() == 1
    assert DBTaskResult.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_lock_is_held_when_it_starts_is_skipped(make_staff, database_tasks):
    queued = ReconciliationRun.objects.create(status=Status.QUEUED)
    with psycopg.connect(_other_session_dsn(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [advisory_lock_key(name=RECONCILIATION_LOCK)])
        assert reconciliation_requested_execute(run_id=queued.pk).status == Status.SKIPPED
    queued.refresh_from_db()
    assert queued.status == Status.SKIPPED and queued.members_checked == 0


@pytest.mark.django_db
def test_run_now_is_for_those_with_the_permission_and_only_by_post(client, make_staff):
    client.force_login(make_staff("auditor", "Finance auditor"))
    html = client.get(LIST).content.decode()
    assert 'id="reconciliation-run-now"' not in html and "You can also start one now." not in html
    assert client.post(RUN_NOW).status_code == 403
    assert not ReconciliationRun.objects.exists()

    client.force_login(make_staff("administrator", "Administrator"))
    assert client.get(RUN_NOW).status_code == 405
    assert not ReconciliationRun.objects.exists()


@pytest.mark.django_db
def test_the_empty_list_explains_when_runs_happen(client, make_staff, settings):
    settings.SCHEDULER_INTERVALS = {**settings.SCHEDULER_INTERVALS, "reconciliation": 86400}
    client.force_login(make_staff("administrator", "Administrator"))
    html = client.get(LIST).content.decode()
    assert "No reconciliation has run yet." in html
    assert "Reconciliation runs every day on the scheduler&#x27;s timetable" in html
    assert "You can also start one now." in html and 'id="reconciliation-run-now"' in html

    settings.SCHEDULER_INTERVALS = {**settings.SCHEDULER_INTERVALS, "reconciliation": 21600}
    assert "Reconciliation runs every 6 hours" in client.get(LIST).content.decode()
    settings.SCHEDULER_INTERVALS = {**settings.SCHEDULER_INTERVALS, "reconciliation": 0}
    assert "runs happen only when staff start one" in client.get(LIST).content.decode()

    ReconciliationRun.objects.create(status=Status.FINISHED)
    assert "No reconciliation has run yet." not in client.get(LIST).content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_queue_one_run(make_staff, database_tasks):
    from django.db import connections

    from rewards.services.reconciliation import ReconciliationBusy, reconciliation_request

    admin = make_staff("administrator", "Administrator")
    clicks = 4
    barrier = threading.Barrier(clicks)
    outcomes: list[str] = []

    def click():
        try:
            barrier.wait()
            reconciliation_request(requested_by=admin)
            outcomes.append("queued")
        except ReconciliationBusy:
            outcomes.append("busy")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(clicks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["busy"] * (clicks - 1) + ["queued"]
    assert ReconciliationRun.objects.filter(status=Status.QUEUED).count() == 1
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_task_was_lost_stops_refusing_run_now(make_staff, database_tasks):
    admin = make_staff("administrator", "Administrator")
    recent = ReconciliationRun.objects.create(status=Status.QUEUED, started_by=admin)
    with pytest.raises(ReconciliationBusy, match=f"#{recent.pk} is already queued"):
        reconciliation_request(requested_by=admin)  # waiting for a worker: still refuses

    lost = timezone.now() - QUEUED_RUN_MAX_AGE - timedelta(minutes=1)
    ReconciliationRun.objects.filter(pk=recent.pk).update(started_at=lost)
    run = reconciliation_request(requested_by=admin)
    recent.refresh_from_db()
    assert (recent.status, run.status) == (Status.FAILED, Status.QUEUED)
    assert recent.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_that_fails_before_it_starts_is_ended_and_run_now_is_offered_again(
    make_staff, database_tasks, settings
):
    admin = make_staff("administrator", "Administrator")
    queued = reconciliation_request(requested_by=admin)
    settings.POMELO_BASE_URL = ""  # no Pomelo to ask: the run cannot even start
    with pytest.raises(ImproperlyConfigured):
        reconciliation_requested_execute(run_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == Status.FAILED and queued.finished_at is not None
    assert reconciliation_request(requested_by=admin).status == Status.QUEUED
