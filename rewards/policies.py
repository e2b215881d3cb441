"""Pure rules about manual adjustments: when a submission to Pomelo may be sent again without a
person, and whether a debit may take a balance below zero. No writes, no Pomelo calls."""

from datetime import datetime, timedelta

from django.conf import settings

from rewards.models import Adjustment

State = Adjustment.State


def submission_lease() -> timedelta:
    return timedelta(seconds=settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS)


def idempotency_window() -> timedelta:
    return timedelta(seconds=settings.ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS)


def idempotency_window_end(adjustment: Adjustment) -> datetime | None:
    """Until when Pomelo is assumed to remember the adjustment's key: the window counts from
    the first send and never restarts. None while nothing was sent."""
    if adjustment.first_sent_at is None:
        return None
    return adjustment.first_sent_at + idempotency_window()


def last_automatic_send(adjustment: Adjustment) -> datetime | None:
    """The latest moment an automatic send (a retry or a resume) may start: the window's end
    less the connect timeout, so that the request itself still reaches Pomelo inside it."""
    end = idempotency_window_end(adjustment)
    if end is None:
        return None
    return end - timedelta(seconds=settings.POMELO_CONNECT_TIMEOUT_SECONDS)


def may_send_automatically(adjustment: Adjustment, *, at: datetime) -> bool:
    """Whether a send starting at `at` may happen without a person deciding: before the first
    send always, afterwards only while Pomelo is assumed to remember the key."""
    latest = last_automatic_send(adjustment)
    return latest is None or at <= latest


def submission_overdue(adjustment: Adjustment, *, now: datetime) -> bool:
    """A send is due or under way, but nothing was recorded for longer than the lease: the worker
    died mid-call (SUBMITTING) or the queued task was lost (APPROVED)."""
    if adjustment.state == State.SUBMITTING:
        return adjustment.lease_expires_at is None or adjustment.lease_expires_at <= now
    if adjustment.state == State.APPROVED:
        return adjustment.updated_at <= now - submission_lease()
    return False


def negative_balance_allowed() -> bool:
    return settings.POMELO_ALLOWS_NEGATIVE_BALANCE
