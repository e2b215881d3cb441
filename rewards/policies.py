"""The rules of manual adjustments, as pure functions: who may review, cancel, resume or settle
one and why not, when a submission may be sent again without a person, and whether a debit may
take a balance below zero. No writes, no Pomelo calls, no queries.

The services call the `*_refusal` functions before every change (under the adjustment's row
lock) and raise AdjustmentError with the reason; the selectors call the same functions to decide
which buttons to show and to explain a missing one. A refusal is "" when the action is allowed.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy

from kernel import permissions as perms
from rewards.models import Adjustment

State = Adjustment.State


# The most approvals an adjustment can need (the CSV export has a column group for each).
MAX_APPROVALS_REQUIRED = 2


def approvals_required_for(*, account_type: str, amount: Decimal) -> int:
    """Two different approvers above the account type's threshold, else one."""
    threshold = settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE.get(account_type)
    return MAX_APPROVALS_REQUIRED if threshold is not None and amount > threshold else 1


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


def _state_words(adjustment: Adjustment) -> str:
    return gettext("Adjustment #%(pk)s is %(state)s") % {
        "pk": adjustment.pk,
        "state": adjustment.get_state_display().lower(),
    }


# One whole sentence per verb ("review" is either decision), so each language words it its own way.
_NO_PERMISSION = {
    "review": gettext_lazy("You do not have permission to approve or reject adjustments."),
    "approve": gettext_lazy("You do not have permission to approve adjustments."),
    "reject": gettext_lazy("You do not have permission to reject adjustments."),
}
_OWN_REQUEST = {
    "review": gettext_lazy("You requested adjustment #%(pk)s; another approver must review it."),
    "approve": gettext_lazy("You requested adjustment #%(pk)s; another approver must approve it."),
    "reject": gettext_lazy("You requested adjustment #%(pk)s; another approver must reject it."),
}
_NOT_PENDING = {
    "review": gettext_lazy("%(adjustment)s; only a request pending approval can be reviewed."),
    "approve": gettext_lazy("%(adjustment)s; only a request pending approval can be approved."),
    "reject": gettext_lazy("%(adjustment)s; only a request pending approval can be rejected."),
}


def approval_deadline_passed(adjustment: Adjustment, *, now: datetime) -> bool:
    """A request not approved by its deadline expires instead."""
    return adjustment.state == State.PENDING_APPROVAL and adjustment.expires_at <= now


def review_refusal(adjustment: Adjustment, *, user, now: datetime, already_approved: bool = False,
                   verb: str = "review") -> str:
    """Why `user` may not approve, reject or (`verb` "review") do either to the adjustment.

    Maker-checker: the maker never reviews their own request, and each approval of a request
    that needs two comes from a different approver (`already_approved`: this user gave one)."""
    if not user.has_perm(perms.APPROVE_ADJUSTMENT):
        return str(_NO_PERMISSION[verb])
    if adjustment.maker_id == user.pk:
        return str(_OWN_REQUEST[verb]) % {"pk": adjustment.pk}
    if adjustment.state != State.PENDING_APPROVAL:
        return str(_NOT_PENDING[verb]) % {"adjustment": _state_words(adjustment)}
    if approval_deadline_passed(adjustment, now=now):
        return gettext("Adjustment #%(pk)s is past its approval deadline and will expire.") % {
            "pk": adjustment.pk,
        }
    if already_approved:
        return gettext(
            "You already approved adjustment #%(pk)s; a different approver is needed.") % {
            "pk": adjustment.pk,
        }
    return ""


def debit_refusal(adjustment: Adjustment, *, available: Decimal) -> str:
    """Why a debit cannot be approved at all: Pomelo would refuse to take the balance below
    zero. (Above the balance but allowed, approving needs an explicit override instead.)"""
    if (adjustment.direction == Adjustment.Direction.DEBIT and adjustment.amount > available
            and not negative_balance_allowed()):
        return (
            gettext(
                "Debit of %(amount)s exceeds the available %(account_type)s balance, now "
                "%(available)s. Pomelo does not let a balance go below zero, so it would refuse"
                " it. It cannot be approved; reject it. The maker can request a smaller debit.") % {
                "amount": adjustment.amount,
                "account_type": adjustment.account_type,
                "available": available,
            }
        )
    return ""


def cancel_refusal(adjustment: Adjustment, *, user) -> str:
    """Only the maker withdraws a request, and only while it waits for approval."""
    if adjustment.maker_id != user.pk:
        return gettext("Only the person who requested an adjustment can cancel it.")
    if adjustment.state != State.PENDING_APPROVAL:
        return gettext("%(adjustment)s; only a request pending approval can be cancelled.") % {
            "adjustment": _state_words(adjustment),
        }
    return ""


def resume_refusal(adjustment: Adjustment, *, user, now: datetime) -> str:
    """An approver (or a holder of the retry permission) has an overdue submission picked up
    now; never while an attempt still holds its lease."""
    if not (user.has_perm(perms.APPROVE_ADJUSTMENT) or user.has_perm(perms.RETRY_ADJUSTMENT)):
        return gettext("You do not have permission to resume adjustments.")
    if submission_overdue(adjustment, now=now):
        return ""
    if adjustment.state == State.SUBMITTING:
        lease = adjustment.lease_expires_at
        until = f"{lease:%Y-%m-%d %H:%M:%S} UTC" if lease else "—"
        return (gettext(
            "Adjustment #%(pk)s is being sent to Pomelo; its attempt holds the lease until "
            "%(until)s. Resume it only after that.") % {
            "pk": adjustment.pk,
            "until": until,
        })
    return gettext("%(adjustment)s; only a submission whose lease is over can be resumed.") % {
        "adjustment": _state_words(adjustment),
    }


def decide_refusal(adjustment: Adjustment, *, user) -> str:
    """An approver other than the maker settles an adjustment whose outcome is unknown."""
    if not user.has_perm(perms.APPROVE_ADJUSTMENT):
        return gettext("You do not have permission to decide the outcome of adjustments.")
    if adjustment.maker_id == user.pk:
        return gettext(
            "You requested adjustment #%(pk)s; another approver must decide its outcome.") % {
            "pk": adjustment.pk,
        }
    if adjustment.state != State.OUTCOME_UNKNOWN:
        return (gettext(
            "%(adjustment)s; only an adjustment whose outcome is unknown can be re-sent or "
            "closed.") % {"adjustment": _state_words(adjustment)})
    return ""
