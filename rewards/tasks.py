"""Background work, through Django's Tasks API. Each task calls one service."""

from django_tasks import task

from rewards.services.adjustments import adjustment_expire_overdue, adjustment_submit
from rewards.services.reconciliation import reconciliation_run


@task()
def adjustment_submit_task(*, adjustment_id: int) -> str:
    adjustment = adjustment_submit(adjustment_id=adjustment_id)
    return adjustment.state if adjustment else "skipped: already claimed or settled"


@task()
def adjustment_expire_task() -> int:
    return adjustment_expire_overdue()


@task()
def reconcile_balances_task() -> int:
    return reconciliation_run().pk
