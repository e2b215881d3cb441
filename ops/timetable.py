"""The scheduled jobs: each name, what it runs, and when its slots fall.

How often each job runs lives in settings (SCHEDULER_INTERVALS); what each does lives here.
Every job calls services of the domain apps, or Django's own, and returns a short summary.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings

from ops import retention


def _heartbeat() -> str:
    from ops.heartbeat import worker_heartbeat_record

    return worker_heartbeat_record(name="worker").isoformat()


def _adjustment_expiry() -> str:
    from rewards.services.adjustments import adjustment_expire_overdue

    return f"{adjustment_expire_overdue()} expired"


def _submission_sweep() -> str:
    from rewards.services.adjustments import adjustment_resume_overdue

    outcome = adjustment_resume_overdue()
    return f"{len(outcome)} overdue submission(s) handled"


def _reconciliation() -> str:
    from rewards.services.reconciliation import reconciliation_run, reconciliation_runs_abandoned_fail

    abandoned = reconciliation_runs_abandoned_fail()
    run = reconciliation_run()
    return (f"run #{run.pk}: {run.members_checked} members, {run.accounts_drifting} drifting, "
            f"{run.errors} errors; {abandoned} abandoned run(s) marked failed")


def _audit_anchor() -> str:
    from rewards.services.chain import chain_anchor_take

    return f"anchor #{chain_anchor_take().pk}"


def _audit_verify() -> str:
    from rewards.services.chain import chain_verification_run

    verification, report = chain_verification_run()
    return f"verification #{verification.pk}: {'sound' if report.sound else 'BROKEN'}"


def _retention() -> str:
    return retention.retention_prune_all()


JOBS: dict[str, Callable[[], str]] = {
    "heartbeat": _heartbeat,
    "adjustment_expiry": _adjustment_expiry,
    "submission_sweep": _submission_sweep,
    "reconciliation": _reconciliation,
    "audit_anchor": _audit_anchor,
    "audit_verify": _audit_verify,
    "retention": _retention,
}


def job_intervals() -> dict[str, int]:
    """Seconds between slots, per job; a job set to 0 is off."""
    return {job: seconds for job, seconds in settings.SCHEDULER_INTERVALS.items() if seconds > 0}


def slot_for(*, now: datetime, interval_seconds: int) -> datetime:
    """The start of the slot holding `now`: slots are aligned on the Unix epoch in UTC, so every
    scheduler on every host computes the same slots."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    elapsed = int((now - epoch).total_seconds())
    return epoch + timedelta(seconds=elapsed - elapsed % interval_seconds)
