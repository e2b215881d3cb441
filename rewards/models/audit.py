"""The audit trail: who did what, when, from where, to which state. Append-only."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Member
from kernel.append_only import AppendOnlyModel
from rewards.models.adjustments import Adjustment


class AuditEntry(AppendOnlyModel):
    class Action(models.TextChoices):
        ADJUSTMENT_REQUESTED = "adjustment_requested", _("Adjustment requested")
        ADJUSTMENT_APPROVED = "adjustment_approved", _("Approval given")
        ADJUSTMENT_REJECTED = "adjustment_rejected", _("Adjustment rejected")
        ADJUSTMENT_CANCELLED = "adjustment_cancelled", _("Adjustment cancelled")
        ADJUSTMENT_EXPIRED = "adjustment_expired", _("Adjustment expired")
        ADJUSTMENT_SUBMITTING = "adjustment_submitting", _("Submitting to Pomelo")
        POMELO_EXCHANGE = "pomelo_exchange", _("Pomelo exchange")
        ADJUSTMENT_SUCCEEDED = "adjustment_succeeded", _("Adjustment succeeded")
        ADJUSTMENT_FAILED = "adjustment_failed", _("Adjustment failed")
        ADJUSTMENT_RETRIED = "adjustment_retried", _("Adjustment retried")
        ADJUSTMENT_RESUMED = "adjustment_resumed", _("Submission resumed")
        ADJUSTMENT_OUTCOME_UNKNOWN = "adjustment_outcome_unknown", _("Outcome unknown")
        ADJUSTMENT_RESENT = "adjustment_resent", _("Re-sent by an approver")
        ADJUSTMENT_CLOSED = "adjustment_closed", _("Outcome decided by an approver")
        BALANCE_CHECKED = "balance_checked", _("Balance checked at Pomelo")
        DELIVERY_REPROCESSED = "delivery_reprocessed", _("Delivery reprocessed")
        CSV_EXPORTED = "csv_exported", _("CSV exported")
        RECONCILIATION_REQUESTED = "reconciliation_requested", _("Reconciliation run requested")
        # Staff accounts and sign-in (the staff app).
        USER_CREATED = "user_created", _("User created")
        USER_CHANGED = "user_changed", _("User changed")
        USER_ROLES_CHANGED = "user_roles_changed", _("User's roles changed")
        USER_DEACTIVATED = "user_deactivated", _("User deactivated")
        USER_REACTIVATED = "user_reactivated", _("User reactivated")
        USER_PASSWORD_RESET_REQUESTED = "user_password_reset_requested", _("Password reset link requested")
        USER_PASSWORD_RESET_FAILED = "user_password_reset_failed", _("Password reset link not sent")
        USER_PASSWORD_SET = "user_password_set", _("Password set by an operator")
        LOGIN_LOCKED_OUT = "login_locked_out", _("Sign-in locked out")
        LOGIN_UNLOCKED = "login_unlocked", _("Sign-in unlocked")
        # The hash chains (verify_audit).
        CHAIN_BROKEN = "chain_broken", _("Audit or ledger chain found broken")
        # Bulk credits and debits (the bulk_adjustments app); data names the batch.
        BULK_FILE_PREVIEWED = "bulk_file_previewed", _("Bulk file previewed")
        BULK_BATCH_REQUESTED = "bulk_batch_requested", _("Bulk batch requested")
        BULK_BATCH_APPROVED = "bulk_batch_approved", _("Bulk batch approval given")
        BULK_BATCH_REJECTED = "bulk_batch_rejected", _("Bulk batch rejected")
        BULK_BATCH_CANCELLED = "bulk_batch_cancelled", _("Bulk batch cancelled")
        BULK_BATCH_EXPIRED = "bulk_batch_expired", _("Bulk batch expired")
        BULK_ROW_NOT_CREATED = "bulk_row_not_created", _("Bulk row's adjustment not created")
        BULK_BATCH_PROCESSED = "bulk_batch_processed", _("Bulk batch processed")
        BULK_ROWS_RETRIED = "bulk_rows_retried", _("Bulk batch's failed rows retried")
        BULK_RESULT_EXPORTED = "bulk_result_exported", _("Bulk batch result downloaded")

    action = models.CharField(max_length=32, choices=Action.choices, db_index=True, verbose_name=_("action"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", help_text=_("Empty for the system (background tasks)."), verbose_name=_("actor"),
    )
    actor_name = models.CharField(max_length=150, help_text=_("Kept even if the user is renamed."),
        verbose_name=_("actor name"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("ip address"))
    adjustment = models.ForeignKey(
        Adjustment, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries",
            verbose_name=_("adjustment")
    )
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_entries",
            verbose_name=_("member")
    )
    from_state = models.CharField(max_length=20, blank=True, verbose_name=_("from state"))
    to_state = models.CharField(max_length=20, blank=True, verbose_name=_("to state"))
    comment = models.TextField(blank=True, verbose_name=_("comment"))
    data = models.JSONField(default=dict, blank=True, help_text=_("Details; secrets removed."),
        verbose_name=_("data"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    # The chain (docs/audit-chain.md): the previous entry's hash, and SHA-256 over this
    # entry's canonical encoding with it. Set when the entry is written (rewards.audit).
    prev_hash = models.CharField(max_length=64, default="", db_default="", editable=False,
        verbose_name=_("prev hash"))
    entry_hash = models.CharField(max_length=64, default="", db_default="", editable=False,
        verbose_name=_("entry hash"))

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at", "-id"]
        permissions = [("export_auditentry", "Can export the audit trail as CSV")]
        indexes = [models.Index(fields=["adjustment", "created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.get_action_display()}"
