"""Looking at admin pages as a given user, and at what a refused action must leave unchanged."""

from dataclasses import dataclass

from accounts.models import BalanceSnapshot
from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry


def as_user(client, user):
    client.force_login(user)
    return client


@dataclass(frozen=True)
class DatabaseState:
    adjustments: tuple
    approvals: int
    audit_entries: int
    ledger_entries: int
    snapshots: int


def database_state() -> DatabaseState:
    """What a refused action must leave exactly as it was."""
    return DatabaseState(
        adjustments=tuple(Adjustment.objects.order_by("pk").values_list(
            "pk", "state", "amount", "balance_override", "submit_attempts")),
        approvals=Approval.objects.count(),
        audit_entries=AuditEntry.objects.count(),
        ledger_entries=LedgerEntry.objects.count(),
        snapshots=BalanceSnapshot.objects.count(),
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def form_errors(response) -> list[str]:
    """Every error the change form shows (field and form-wide)."""
    form = response.context["adminform"].form
    return [str(error) for errors in form.errors.values() for error in errors]
