"""Background work of bulk batches, through Django's Tasks API. Each task calls one service."""

from django_tasks import task

from bulk_adjustments.services import bulk_batch_expire_overdue, bulk_batch_process


@task()
def bulk_batch_process_task(*, batch_id: int) -> dict[str, int]:
    return bulk_batch_process(batch_id=batch_id)


@task()
def bulk_batch_expire_task() -> int:
    return bulk_batch_expire_overdue()
