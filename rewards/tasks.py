"""Background work, through Django's Tasks API. Each task calls one service."""

from django_tasks import task

from rewards.services.adjustments import (
    adjustment_expire_overdue,
    adjustment_outcome_check,
    adjustment_resume_overdue,
    adjustment_submit,
)
from rewards.services.maker_notifications import maker_notification_email_send
from rewards.services.reconciliation import reconciliation_requested_execute, reconciliation_run


@task()
def adjustment_submit_task(*, adjustment_id: int) -> str:
    adjustment = adjustment_submit(adjustment_id=adjustment_id)
    return adjustment.state if adjustment else "skipped: already claimed or settled"


@task()
def adjustment_watchdog_task(*, adjustment_id: int, attempt: int) -> str:
    """Queued with each claim to run when its lease ends: resumes the attempt if its worker
    recorded nothing (the same key, inside the idempotency window), else does nothing."""
    adjustment = adjustment_submit(adjustment_id=adjustment_id, watchdog_attempt=attempt)
    return adjustment.state if adjustment else "nothing to resume"


@task()
def adjustment_resume_overdue_task() -> dict[str, str]:
    """The sweep, for a scheduler: every overdue submission, resumed or handed to a person."""
    return {str(pk): state for pk, state in adjustment_resume_overdue().items()}


@task()
def adjustment_outcome_check_task(
    *, adjustment_id: int, actor_id: int | None = None, ip_address: str | None = None
) -> int | None:
    snapshot = adjustment_outcome_check(adjustment_id=adjustment_id, actor_id=actor_id,
                                        ip_address=ip_address)
    return snapshot.pk if snapshot else None


@task()
def adjustment_expire_task() -> int:
    return adjustment_expire_overdue()


@task()
def reconcile_balances_task() -> int:
    return reconciliation_run().pk


@task()
def reconciliation_requested_task(*, run_id: int) -> str:
    """A run staff asked for ("Run now")."""
    return reconciliation_requested_execute(run_id=run_id).status


@task()
def maker_notification_email_task(*, notification_id: int) -> bool:
    """Queued with the change it reports, so it runs only once that change is committed."""
    return maker_notification_email_send(notification_id=notification_id)
