"""Comparisons of our ledger with Pomelo's balances. Recorded, never applied."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Member, RewardAccount
from kernel.account_types import account_type_name


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        # Asked for by staff ("Run now"), waiting for a worker.
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")
        # Asked for by staff while another run held the reconciliation lock: did nothing.
        SKIPPED = "skipped", _("Skipped (another run was under way)")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    started_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING,
        verbose_name=_("status"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
            verbose_name=_("started by")
    )
    members_checked = models.PositiveIntegerField(
        default=0, verbose_name=_("members checked"),
        help_text=_("Saved after each batch of members, so a running run shows progress."),
    )
    members_total = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("members to check"),
        help_text=_("Members to check, counted when the run started."),
    )
    accounts_drifting = models.PositiveIntegerField(default=0, verbose_name=_("accounts drifting"))
    errors = models.PositiveIntegerField(default=0, verbose_name=_("errors"))
    adjustments_unsettled = models.PositiveIntegerField(
        default=0, help_text=_("Adjustments sent to Pomelo whose outcome we have not recorded."),
            verbose_name=_("adjustments unsettled")
    )
    unsettled_adjustments = models.JSONField(
        default=list, blank=True,
        help_text=_("Those adjustments as they stood during the run: their Pomelo outcome may be "
                    "part of the drift."), verbose_name=_("unsettled adjustments"),
    )

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return gettext("Reconciliation #%(id)s %(started)s %(status)s") % {
            "id": self.pk, "started": f"{self.started_at:%Y-%m-%d %H:%M}",
            "status": self.get_status_display(),
        }


class ReconciliationResult(models.Model):
    """One member and account type in one run. Pomelo may report a type we hold no account for
    (then `account` is empty and our side is zero); `account_type` is empty only on the row
    that records a failed balance request for a member with no account at all."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="results",
        verbose_name=_("run"))
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="reconciliations",
        verbose_name=_("member"))
    account_type = models.CharField(max_length=32, blank=True, verbose_name=_("account type"))
    account = models.ForeignKey(
        RewardAccount, on_delete=models.PROTECT, related_name="reconciliations",
        null=True, blank=True, verbose_name=_("account"),
    )
    ledger_available = models.DecimalField(max_digits=18, decimal_places=2,
        verbose_name=_("ledger available"))
    pomelo_available = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True,
        verbose_name=_("pomelo available"))
    difference = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True,
        verbose_name=_("difference"))
    drifting = models.BooleanField(default=False, db_index=True, verbose_name=_("drifting"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    note = models.TextField(blank=True, help_text=_("E.g. an adjustment of unknown outcome here."),
        verbose_name=_("note"))
    checked_at = models.DateTimeField(default=timezone.now, verbose_name=_("checked at"))

    class Meta:
        verbose_name = _("reconciliation result")
        verbose_name_plural = _("reconciliation results")
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
        return gettext("%(user_id)s · %(account_type)s: ledger %(ledger)s vs Pomelo %(pomelo)s") % {
            "user_id": self.member.pomelo_user_id,
            "account_type": (account_type_name(self.account_type) if self.account_type
                             else pgettext("account types", "all")),
            "ledger": self.ledger_available, "pomelo": self.pomelo_available,
        }
