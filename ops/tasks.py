"""The task the scheduler queues: one slot of one job, run by the database worker."""

from django_tasks import task

from ops.scheduling import job_run_execute


@task()
def job_run_task(*, run_id: int) -> str:
    return job_run_execute(run_id=run_id)
