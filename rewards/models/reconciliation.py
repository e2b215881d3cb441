"""Comparisons of our ledger with Pomelo's balances. Recorded, never applied."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Member, RewardAccount


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    members_checked = models.PositiveIntegerField(default=0)
    accounts_drifting = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    adjustments_unsettled = models.PositiveIntegerField(
        default=0, help_text=_("Adjustments sent to Pomelo whose outcome we have not recorded.")
    )
    unsettled_adjustments = models.JSONField(
        default=list, blank=True,
        help_text=_("Those adjustments as they stood during the run: their Pomelo outcome may be "
                    "part of the drift."),
    )

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Reconciliation #{self.pk} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class ReconciliationResult(models.Model):
    """One member and account type in one run. Pomelo may report a type we hold no account for
    (then `account` is empty and our side is zero); `account_type` is empty only on the row
    that records a failed balance request for a member with no account at all."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="results")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="reconciliations")
    account_type = models.CharField(max_length=32, blank=True)
    account = models.ForeignKey(
        RewardAccount, on_delete=models.PROTECT, related_name="reconciliations",
        null=True, blank=True,
    )
    ledger_available = models.DecimalField(max_digits=18, decimal_places=2)
    pomelo_available = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    difference = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    drifting = models.BooleanField(default=False, db_index=True)
    error = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text=_("E.g. an adjustment of unknown outcome here."))
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["run", "drifting"]),
            # The results list shows the drifting ones, newest first, by default: a page of
            # them is read off this index however many results the runs have written.
            models.Index(
                fields=["-checked_at", "-id"], condition=models.Q(drifting=True),
                name="recon_result_drifting_recent",
            ),
        ]

    def __str__(self) -> str:
        return (f"{self.member.pomelo_user_id} · {self.account_type or 'all'}: ledger "
                f"{self.ledger_available} vs Pomelo {self.pomelo_available}")
