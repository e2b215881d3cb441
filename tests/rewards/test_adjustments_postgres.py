"""Exactly-once under concurrency, the database worker, and the audit trigger, on PostgreSQL."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts.models import Member, RewardAccount
from rewards.models import Adjustment, AuditEntry, LedgerEntry
from rewards.services.adjustments import (
    AdjustmentError,
    adjustment_approve,
    adjustment_request,
    adjustment_submit,
)
from rewards.services.adjustments import _locked as adjustment_locked
from tests.support.webhooks import notification_body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(make_staff, webhook, sandbox_pomelo):
    webhook.post("confirmation", notification_body("confirmation", "ctx-seed", amount="100.00"))
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    member = Member.objects.get(pomelo_user_id="usr-1")
    agent = make_staff("agent", "Support agent")
    approvers = [make_staff(f"approver{i}", "Approver") for i in range(4)]
    adjustment = adjustment_request(
        maker=agent, member=member, card=member.cards.get(), account_type="points",
        direction="credit", amount="30.00", reason_code="goodwill", reason_text="sorry",
    )
    return adjustment, approvers


def _at_once(functions):
    barrier = threading.Barrier(len(functions))

    def run(function):
        try:
            barrier.wait(timeout=10)
            return function()
        except Exception as exc:  # the outcome of each racer is what we assert on
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(functions)) as pool:
        return list(pool.map(run, functions))


def test_approvers_clicking_at_once_cause_one_effect(setup, sandbox_pomelo):
    adjustment, approvers = setup
    outcomes = _at_once([
        lambda a=a: adjustment_approve(adjustment_id=adjustment.pk, approver=a, comment="ok")
        for a in approvers
    ])
    refused = [o for o in outcomes if isinstance(o, AdjustmentError)]
    assert len(refused) == len(approvers) - 1, outcomes
    assert all("only a request pending approval" in str(o) for o in refused)
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUCCEEDED
    assert adjustment.approvals.count() == 1
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["requests"] == 1
    assert LedgerEntry.objects.filter(adjustment=adjustment).count() == 1


def test_task_running_many_times_at_once_calls_pomelo_once(setup, sandbox_pomelo, settings):
    adjustment, approvers = setup
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    adjustment_approve(adjustment_id=adjustment.pk, approver=approvers[0], comment="ok")
    sandbox_pomelo.set_faults(delay_ms=300)  # keep the first call in flight while others try
    outcomes = _at_once([lambda: adjustment_submit(adjustment_id=adjustment.pk)] * 4)
    assert sum(o is not None for o in outcomes) == 1, outcomes
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUCCEEDED
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["requests"] == 1
    assert LedgerEntry.objects.filter(adjustment=adjustment).count() == 1


def _worker_env(settings, sandbox_pomelo, **extra) -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "POMELO_BASE_URL": sandbox_pomelo.url,
        "POMELO_CLIENT_ID": sandbox_pomelo.client_id,
        "POMELO_CLIENT_SECRET": sandbox_pomelo.client_secret,
        "POMELO_WEBHOOK_KEYS": json.dumps({}),
        **extra,
    }


def test_database_worker_process_runs_the_submission(setup, sandbox_pomelo, settings):
    adjustment, approvers = setup
    # The settings fixture signals the change; django-tasks then rebuilds its backends.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    adjustment_approve(adjustment_id=adjustment.pk, approver=approvers[0], comment="ok")
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.APPROVED  # queued, not run in-process
    env = _worker_env(settings, sandbox_pomelo)
    worker = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
         "--no-reload"],
        env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUCCEEDED, worker.stderr
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    """Wait for another process to reach a state; fail, naming it, if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("recovery", ["watchdog", "sweep"])
def test_a_worker_killed_mid_submission_is_resumed_and_applied_once(
    setup, sandbox_pomelo, settings, recovery
):
    """The incident: Pomelo is slow, the process running the submission is killed while
    Pomelo handles it. The watchdog queued with the claim (run by the next worker), or the
    sweep, sends it again with the same key: applied once, recorded once, ledger = Pomelo."""
    adjustment, approvers = setup
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS = 2
    env = _worker_env(settings, sandbox_pomelo, ADJUSTMENT_SUBMISSION_LEASE_SECONDS="2")
    adjustment_approve(adjustment_id=adjustment.pk, approver=approvers[0], comment="ok")
    sandbox_pomelo.set_faults(delay_ms=4000, delay_next=1)  # the first call stays in flight

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload",
         "--interval", "0.1"],
        env=env, cwd=settings.BASE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: sandbox_pomelo.state()["faults"]["injected"] >= 1,
                  "the worker's mint to reach the stand-in")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUBMITTING and adjustment.submit_attempts == 1
    lease_end = adjustment.lease_expires_at
    _wait_for(lambda: timezone.now() > lease_end, "the end of the lease", timeout=30)

    if recovery == "watchdog":
        command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
                   "--no-reload"]
    else:
        command = [sys.executable, "manage.py", "resume_adjustments"]
    finished = subprocess.run(command, env=env,  # noqa: S603 - our own manage.py
                              cwd=settings.BASE_DIR, capture_output=True, text=True,
                              timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr
    # Wait for the killed worker's request, still held at the stand-in, to finish too.
    _wait_for(lambda: sandbox_pomelo.effects(adjustment.idempotency_key)["requests"] == 2,
              "the stand-in to finish both requests")

    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUCCEEDED, finished.stdout + finished.stderr
    assert adjustment.submit_attempts == 2
    record = sandbox_pomelo.effects(adjustment.idempotency_key)
    assert record["count"] == 1 and record["replays"] == 1
    assert LedgerEntry.objects.filter(adjustment=adjustment).count() == 1
    ours = RewardAccount.objects.get(member=adjustment.member, account_type="points").available_balance
    assert ours == sandbox_pomelo.balances("usr-1")["points"] == Decimal("130.00")
    assert AuditEntry.objects.filter(adjustment=adjustment, action="adjustment_succeeded").count() == 1


@pytest.mark.parametrize("sql", ["UPDATE rewards_auditentry SET comment = 'edited'",
                                 "DELETE FROM rewards_auditentry"])
def test_database_refuses_to_alter_the_audit_trail(setup, sql):
    before = AuditEntry.objects.count()
    assert before > 0
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.count() == before
    assert not AuditEntry.objects.filter(comment="edited").exists()



def test_locking_an_adjustment_leaves_its_card_and_member_free(setup):
    """A webhook's foreign-key check on the card (FOR KEY SHARE, at commit) must never wait
    for an adjustment being decided or recorded: that wait closed a deadlock cycle under load."""
    adjustment, _approvers = setup
    locked = threading.Event()
    release = threading.Event()

    def hold_adjustment_lock():
        try:
            with transaction.atomic():
                adjustment_locked(adjustment.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_adjustment_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with transaction.atomic(), connection.cursor() as cursor:
            for table, pk in (("accounts_card", adjustment.card_id),
                              ("accounts_member", adjustment.member_id)):
                # NOWAIT: a lock held by the other transaction raises instead of waiting.
                cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", [pk])  # noqa: S608
                assert cursor.fetchone() == (1,)
    finally:
        release.set()
        holder.join(timeout=10)
