"""A batch of credits and debits uploaded as one CSV file and approved once.

The batch holds every line of the file (invalid ones with their error, so the result lists the
whole file). Once the batch is approved each valid row becomes its own adjustment, with its own
idempotency key, and follows the single-adjustment life from there.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Card, Member
from rewards.models import Adjustment


class BatchTransitionError(Exception):
    pass


class BulkBatch(models.Model):
    class State(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Pending approval")
        # Approved: its rows are turned into adjustments and submitted by the worker.
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    TRANSITIONS = {
        State.PENDING_APPROVAL: {State.APPROVED, State.REJECTED, State.CANCELLED, State.EXPIRED},
    }

    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulk_batches_made",
            verbose_name=_("maker")
    )
    file_name = models.CharField(max_length=255, verbose_name=_("file name"))
    file_sha256 = models.CharField(max_length=64, help_text=_("SHA-256 of the uploaded file."),
        verbose_name=_("file sha256"))
    file_size = models.PositiveIntegerField(verbose_name=_("file size"))
    row_count = models.PositiveIntegerField(help_text=_("Data lines in the file."),
        verbose_name=_("row count"))
    valid_count = models.PositiveIntegerField(verbose_name=_("valid count"))
    totals = models.JSONField(
        default=dict, help_text=_("Valid rows' count and sum per account type and direction."),
            verbose_name=_("totals")
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING_APPROVAL, db_index=True,
            verbose_name=_("state")
    )
    approvals_required = models.PositiveSmallIntegerField(default=1, verbose_name=_("approvals required"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    completed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it was rejected, cancelled or expired."),
            verbose_name=_("completed at")
    )
    processing_started_at = models.DateTimeField(null=True, blank=True,
        verbose_name=_("processing started at"))
    processed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the worker last finished a pass over its rows."),
            verbose_name=_("processed at")
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bulk batch")
        verbose_name_plural = _("bulk batches")
        constraints = [
            # A double-click on Confirm (or two tabs) must not queue the same file twice.
            models.UniqueConstraint(
                fields=["file_sha256"], condition=models.Q(state="pending_approval"),
                name="bulk_batch_one_pending_per_file",
            ),
        ]
        permissions = [
            ("approve_bulkbatch", "Can approve or reject bulk batches"),
            ("retry_bulkbatch", "Can retry a bulk batch's failed rows"),
            ("export_bulkbatch", "Can download a bulk batch's result CSV"),
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._persisted_state = self.state if self.pk else None

    def __str__(self) -> str:
        return gettext("Batch #%(id)s · %(file)s · %(state)s") % {
            "id": self.pk, "file": self.file_name, "state": self.get_state_display(),
        }

    def save(self, *args, **kwargs):
        if self._persisted_state is None and self.state != self.State.PENDING_APPROVAL:
            raise BatchTransitionError("a new batch starts pending approval")
        if self._persisted_state is not None and self.state != self._persisted_state:
            if self.state not in self.TRANSITIONS.get(self._persisted_state, set()):
                raise BatchTransitionError(
                    f"batch #{self.pk} cannot go from {self._persisted_state} to {self.state}"
                )
        super().save(*args, **kwargs)
        self._persisted_state = self.state

    def delete(self, *args, **kwargs):
        raise BatchTransitionError("batches are never deleted")


class BulkApproval(models.Model):
    batch = models.ForeignKey(BulkBatch, on_delete=models.PROTECT, related_name="approvals",
        verbose_name=_("batch"))
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulk_approvals_given",
            verbose_name=_("approver")
    )
    comment = models.TextField(verbose_name=_("comment"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("bulk approval")
        verbose_name_plural = _("bulk approvals")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "approver"], name="bulk_approval_one_per_approver"),
        ]

    def __str__(self) -> str:
        return gettext("%(approver)s approved batch #%(id)s") % {
            "approver": self.approver, "id": self.batch_id,
        }


class BulkRow(models.Model):
    batch = models.ForeignKey(BulkBatch, on_delete=models.PROTECT, related_name="rows",
        verbose_name=_("batch"))
    line = models.PositiveIntegerField(help_text=_("Line number in the file (the header is line 1)."),
        verbose_name=_("line"))
    # The cells as uploaded, for the result file.
    pomelo_user_id = models.CharField(max_length=64, blank=True, verbose_name=_("pomelo user id"))
    pomelo_card_id = models.CharField(max_length=64, blank=True, verbose_name=_("pomelo card id"))
    account_type = models.CharField(max_length=32, blank=True, verbose_name=_("account type"))
    direction = models.CharField(max_length=8, blank=True, verbose_name=_("direction"))
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True,
        verbose_name=_("amount"))
    reason_code = models.CharField(max_length=16, blank=True, verbose_name=_("reason code"))
    reason_text = models.TextField(blank=True, verbose_name=_("reason text"))
    valid = models.BooleanField(verbose_name=_("valid"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("member"))
    card = models.ForeignKey(Card, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("card"))
    # Invalid rows: the validation error. Valid rows: why the adjustment could not be created
    # (cleared by a retry).
    error = models.TextField(blank=True, verbose_name=_("error"))
    adjustment = models.OneToOneField(
        Adjustment, on_delete=models.PROTECT, null=True, blank=True, related_name="bulk_row",
            verbose_name=_("adjustment")
    )
    # Adjustments of earlier attempts (failed), oldest first; a retry creates a new one.
    previous_adjustments = models.JSONField(default=list, blank=True, verbose_name=_("previous adjustments"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("bulk row")
        verbose_name_plural = _("bulk rows")
        ordering = ["batch", "line"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "line"], name="bulk_row_one_per_line"),
        ]

    def __str__(self) -> str:
        return gettext("Batch #%(id)s line %(line)s") % {"id": self.batch_id, "line": self.line}
