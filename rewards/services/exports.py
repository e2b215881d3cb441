"""Recording a finance export: who took which list, with which filters."""

from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils.translation import gettext as _

from kernel import permissions as perms
from kernel.errors import BackofficeError
from rewards.audit import audit_record
from rewards.chain_tasks import chain_anchor_after_export
from rewards.models import AuditEntry

# The finance exports, each with the permission it needs.
EXPORT_PERMISSIONS = {
    "adjustments": perms.EXPORT_ADJUSTMENT,
    "audit_trail": perms.EXPORT_AUDIT_ENTRY,
    "ledger": perms.EXPORT_LEDGER_ENTRY,
    "reward_events": perms.EXPORT_REWARD_EVENT,
}


class ExportRefused(BackofficeError):
    pass


def csv_export_record(
    *,
    export: str,
    actor: AbstractUser,
    filters: dict[str, str | list[str]],
    query: str,
    ip_address: str | None = None,
) -> AuditEntry:
    """Audit an export before its rows are streamed, and queue the anchor of the chain heads
    every finance export takes (docs/audit-chain.md). The row count is not known yet (the file
    is written as it is sent); the filters say which rows it holds."""
    permission = EXPORT_PERMISSIONS.get(export)
    if permission is None:
        raise ExportRefused(_("There is no export called %(name)s.") % {"name": export})
    if not actor.has_perm(permission):
        raise ExportRefused(_("You do not have permission to export this list."))
    with transaction.atomic(durable=True):
        entry = audit_record(
            action=AuditEntry.Action.CSV_EXPORTED, actor=actor, ip_address=ip_address,
            data={"export": export, "filters": filters, "query": query},
        )
        chain_anchor_after_export(actor=actor, note=f"{export} CSV")
    return entry
