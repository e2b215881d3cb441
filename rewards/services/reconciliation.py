"""Compare our ledger with Pomelo's balances. Drift is recorded and shown, never corrected."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Member
from kernel.advisory_locks import advisory_lock_in_transaction, advisory_lock_try
from kernel.errors import BackofficeError
from kernel.tasks import task_enqueue_in_transaction
from kernel.transactions import outside_transaction
from pomelo import PomeloClient, PomeloError, balances_from_payload
from rewards.audit import audit_record
from rewards.models import AuditEntry, ReconciliationResult, ReconciliationRun
from rewards.selectors import adjustments_unsettled

Progress = Callable[[int, int], None]
BATCH = 200
# The scheduler's lock for its "reconciliation" job (ops.scheduling takes "job:<name>"): a run
# staff start and a scheduled run never overlap.
RECONCILIATION_LOCK = "job:reconciliation"
REQUEST_LOCK = "reconciliation:request"
# A run asked for with "Run now" that no worker took in this long lost its task.
QUEUED_RUN_MAX_AGE = timedelta(hours=1)
ZERO = Decimal("0.00")


def _pomelo_balances(
    client: PomeloClient, member: Member, known_types: list[str]
) -> tuple[dict[str, Decimal] | None, str]:
    try:
        response = client.balance(user_id=member.pomelo_user_id)
    except PomeloError as exc:
        return None, str(exc)
    found = balances_from_payload(response.data, account_types=known_types)
    if not found:
        return None, "Pomelo answered without a balance we could read"
    return found, ""


def _unsettled_adjustments() -> list[dict]:
    return [
        {"id": a.pk, "state": a.state, "member": a.member.pomelo_user_id,
         "member_id": a.member_id, "account_type": a.account_type,
         "signed_amount": str(a.signed_amount), "idempotency_key": a.idempotency_key,
         "first_sent_at": a.first_sent_at.isoformat() if a.first_sent_at else None,
         "lease_expires_at": a.lease_expires_at.isoformat() if a.lease_expires_at else None}
        for a in adjustments_unsettled().select_related("member").order_by("pk")
    ]


def _results_for(run, member: Member, pomelo, error: str, unsettled: dict) -> list:
    """One result per account type that either side holds: every local account, and every type
    Pomelo reports even where we hold no account (our side is then zero)."""
    accounts = {a.account_type: a for a in member.reward_accounts.all()}
    types = sorted(set(accounts) | set(pomelo or {}))
    if not types and error:
        types = [""]  # no account and no answer: still say that this member was not checked
    results = []
    for account_type in types:
        account = accounts.get(account_type)
        ours = account.available_balance if account else ZERO
        theirs = None if pomelo is None else pomelo.get(account_type, ZERO)
        if account is None and theirs == ZERO:
            continue  # nothing on either side: no row for every type Pomelo lists as zero
        difference = None if theirs is None else ours - theirs
        pending = unsettled.get((member.pk, account_type), [])
        note = "; ".join(
            f"adjustment #{a['id']} ({a['signed_amount']}) has no recorded outcome ({a['state']})"
            for a in pending
        )
        results.append(ReconciliationResult(
            run=run, member=member, account_type=account_type, account=account,
            ledger_available=ours, pomelo_available=theirs, difference=difference,
            drifting=difference is not None and difference != 0, error=error, note=note,
        ))
    return results


def reconciliation_run(
    *,
    started_by: User | None = None,
    concurrency: int = 4,
    client: PomeloClient | None = None,
    progress: Progress | None = None,
    run: ReconciliationRun | None = None,
) -> ReconciliationRun:
    """Ask Pomelo for every member's balance, `concurrency` requests at a time, and record one
    result per member and account type that either side holds. Threads only talk HTTP; this
    thread does all database work. Adjustments of unrecorded outcome are listed on the run.

    `run` is a queued run staff asked for (`reconciliation_request`); without it a new run is
    recorded. `members_checked` is saved after each batch, so its page shows the progress."""
    if concurrency < 1:
        raise BackofficeError("concurrency must be at least 1")
    client = client or PomeloClient.from_settings()
    unsettled = _unsettled_adjustments()
    # Every member, not only those with an account here: Pomelo may hold a balance (a credit
    # whose outcome we never recorded) in a type we never opened for them.
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    if run is None:
        run = ReconciliationRun.objects.create(
            started_by=started_by, adjustments_unsettled=len(unsettled),
            unsettled_adjustments=unsettled, members_total=len(member_ids),
        )
    else:
        run.status, run.started_at = ReconciliationRun.Status.RUNNING, timezone.now()
        run.adjustments_unsettled, run.unsettled_adjustments = len(unsettled), unsettled
        run.members_total = len(member_ids)
        with transaction.atomic(durable=True):
            run.save(update_fields=["status", "started_at", "adjustments_unsettled",
                                    "unsettled_adjustments", "members_total"])
    by_account: dict[tuple[int, str], list[dict]] = {}
    for item in unsettled:
        by_account.setdefault((item["member_id"], item["account_type"]), []).append(item)
    done = 0
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for start in range(0, len(member_ids), BATCH):
                members = list(Member.objects.filter(pk__in=member_ids[start:start + BATCH])
                               .prefetch_related("reward_accounts").order_by("pk"))
                known = [
                    list({*settings.POMELO_ACCOUNT_TYPES,
                          *(a.account_type for a in m.reward_accounts.all())})
                    for m in members
                ]
                answers = pool.map(lambda m, k: _pomelo_balances(client, m, k), members, known)
                results = []
                for member, (pomelo, error) in zip(members, answers, strict=True):
                    results += _results_for(run, member, pomelo, error, by_account)
                with transaction.atomic(durable=True):
                    ReconciliationResult.objects.bulk_create(results)
                run.members_checked += len(members)
                run.accounts_drifting += sum(r.drifting for r in results)
                run.errors += sum(bool(r.error) for r in results)
                run.save(update_fields=["members_checked", "accounts_drifting", "errors"])
                done += len(members)
                if progress:
                    progress(done, len(member_ids))
    except Exception:
        run.status, run.finished_at = ReconciliationRun.Status.FAILED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        raise
    run.status, run.finished_at = ReconciliationRun.Status.FINISHED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run


class ReconciliationBusy(BackofficeError):
    """A run is already queued or under way: a second one would only repeat it."""


def reconciliation_active() -> ReconciliationRun | None:
    """The run queued or under way, if any (newest first)."""
    return (ReconciliationRun.objects.filter(status__in=ReconciliationRun.ACTIVE)
            .order_by("-started_at", "-pk").first())


def reconciliation_request(
    *, requested_by: User, ip_address: str | None = None
) -> ReconciliationRun:
    """Queue a reconciliation run now ("Run now"), audited; refuse while one is queued or
    under way. The worker runs it under the lock the scheduled runs take."""
    outside_transaction()
    with advisory_lock_try(name=RECONCILIATION_LOCK) as free:
        if free:
            # Nobody holds the lock, so a run still marked "running" was killed half-way: it
            # must not keep refusing this request.
            reconciliation_runs_abandoned_fail()
    with transaction.atomic(durable=True):
        # Two clicks at once: the second waits here, then sees the first one's run.
        advisory_lock_in_transaction(name=REQUEST_LOCK)
        active = reconciliation_active()
        if active is not None:
            raise ReconciliationBusy(_busy_message(active))
        run = ReconciliationRun.objects.create(
            status=ReconciliationRun.Status.QUEUED, started_by=requested_by
        )
        audit_record(action=AuditEntry.Action.RECONCILIATION_REQUESTED, actor=requested_by,
                     ip_address=ip_address, data={"run": run.pk})
        _enqueue_requested_run(run)
    return run


def _busy_message(active: ReconciliationRun) -> str:
    if active.status == ReconciliationRun.Status.QUEUED:
        return _("Reconciliation run #%(run)s is already queued; nothing new was queued.") % {
            "run": active.pk}
    return _("Reconciliation run #%(run)s is already running; nothing new was queued.") % {
        "run": active.pk}


def _enqueue_requested_run(run: ReconciliationRun) -> None:
    from rewards.tasks import reconciliation_requested_task

    task_enqueue_in_transaction(reconciliation_requested_task, run_id=run.pk)


def reconciliation_requested_execute(
    *, run_id: int, client: PomeloClient | None = None
) -> ReconciliationRun:
    """Run a queued run under the reconciliation lock. If another run holds the lock (a
    scheduled one started meanwhile), this one is marked skipped and does nothing."""
    run = ReconciliationRun.objects.get(pk=run_id)
    if run.status != ReconciliationRun.Status.QUEUED:
        return run
    Status = ReconciliationRun.Status
    with advisory_lock_try(name=RECONCILIATION_LOCK) as acquired:
        if not acquired:
            _run_end(run, Status.SKIPPED, only_if=(Status.QUEUED,))
            return run
        reconciliation_runs_abandoned_fail(keep=run.pk)
        try:
            return reconciliation_run(run=run, started_by=run.started_by, client=client)
        except Exception:
            # Failed before its own bookkeeping could (no client, the database gone): ended
            # here, so the list stops following it and Run now is offered again.
            _run_end(run, Status.FAILED, only_if=(Status.QUEUED, Status.RUNNING))
            raise


def _run_end(run: ReconciliationRun, status: str, *, only_if: tuple[str, ...]) -> None:
    """End `run` as `status` if it is still in `only_if`: a task delivered twice cannot
    overwrite what the other delivery recorded."""
    with transaction.atomic(durable=True):
        ReconciliationRun.objects.filter(pk=run.pk, status__in=only_if).update(
            status=status, finished_at=timezone.now())
    run.refresh_from_db()


def reconciliation_runs_abandoned_fail(*, keep: int | None = None) -> int:
    """Mark as failed every run still "running" (the caller holds the reconciliation lock, so
    none of them is alive: its process was killed half-way) and every run queued longer than
    QUEUED_RUN_MAX_AGE (its task was lost: no worker will take it), except run `keep`.
    Otherwise a lost run would refuse "Run now" for ever. Returns how many."""
    Status = ReconciliationRun.Status
    stale = timezone.now() - QUEUED_RUN_MAX_AGE
    abandoned = (ReconciliationRun.objects.filter(status=Status.RUNNING)
                 | ReconciliationRun.objects.filter(status=Status.QUEUED, started_at__lt=stale))
    if keep is not None:
        abandoned = abandoned.exclude(pk=keep)
    with transaction.atomic(durable=True):
        return abandoned.update(status=Status.FAILED, finished_at=timezone.now())


def reconciliation_results_prune(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Delete the per-account results of runs started more than `older_than_days` ago; the runs
    themselves (one small row a night, with their totals) stay. Deletes in batches so no
    statement holds locks for long. Returns how many results were deleted."""
    if older_than_days < 1:
        raise ValueError("keep reconciliation results at least one day")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted = 0
    while True:
        with transaction.atomic(durable=True):
            ids = list(
                ReconciliationResult.objects.filter(run__started_at__lt=cutoff)
                .order_by("pk").values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            deleted += ReconciliationResult.objects.filter(pk__in=ids).delete()[0]
