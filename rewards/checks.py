"""Deployment checks (`manage.py check --deploy`) for the submission of adjustments to Pomelo."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

IN_PROCESS_BACKEND = "django_tasks.backends.immediate.ImmediateBackend"


def pomelo_call_worst_case_seconds() -> float:
    """How long one mint or burn can take with all the client's retries and pauses."""
    attempts = settings.POMELO_MAX_RETRIES + 1
    per_attempt = settings.POMELO_CONNECT_TIMEOUT_SECONDS + settings.POMELO_READ_TIMEOUT_SECONDS
    pauses = sum(
        min(settings.POMELO_RETRY_BACKOFF_MAX_SECONDS, settings.POMELO_RETRY_BACKOFF_SECONDS * 2 ** n)
        for n in range(settings.POMELO_MAX_RETRIES)
    )
    return attempts * per_attempt + pauses


@register(Tags.compatibility, deploy=True)
def adjustment_submission_check(app_configs=None, **kwargs):
    warnings = []
    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if backend == IN_PROCESS_BACKEND and not settings.DEBUG:
        warnings.append(Warning(
            "Tasks run in-process: an approval calls Pomelo inside the approver's web request, "
            "and a killed web worker leaves nothing to finish the submission.",
            hint="Use TASKS_BACKEND=django_tasks_db.DatabaseBackend and run `manage.py db_worker`.",
            id="rewards.W001",
        ))
    worst = pomelo_call_worst_case_seconds()
    if settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS < worst:
        warnings.append(Warning(
            f"ADJUSTMENT_SUBMISSION_LEASE_SECONDS ({settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS}) "
            f"is shorter than one Pomelo call with all its retries (up to {worst:.0f} s): a live "
            "submission may be resumed while it still waits for Pomelo.",
            hint="Lengthen the lease (keeping it shorter than ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS) "
                 "or shorten POMELO_*_TIMEOUT_SECONDS / POMELO_MAX_RETRIES.",
            id="rewards.W002",
        ))
    return warnings
