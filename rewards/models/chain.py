"""Hash chains over the audit trail and the ledger: the audit chain's head, anchors, checks.

docs/audit-chain.md explains the chains; rewards/chain.py computes the hashes.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kernel.append_only import AppendOnlyModel


class ChainHead(models.Model):
    """The last entry of a chain. Its row lock serialises appends to the audit chain, so two
    transactions never link to the same previous entry; it also lets the check notice entries
    removed from the end."""

    AUDIT = "audit"

    name = models.CharField(max_length=32, unique=True, verbose_name=_("name"))
    entry_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("entry id"))
    entry_hash = models.CharField(max_length=64, verbose_name=_("entry hash"))
    length = models.BigIntegerField(default=0, verbose_name=_("length"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("chain head")
        verbose_name_plural = _("chain heads")

    def __str__(self) -> str:
        return ngettext(
            "%(name)s head #%(entry)s (%(length)s entry)", "%(name)s head #%(entry)s (%(length)s entries)",
            self.length,
        ) % {"name": self.name, "entry": self.entry_id, "length": self.length}


class ChainAnchor(AppendOnlyModel):
    """The heads of both chains at one moment, recorded each day and on every finance export.

    A later rewrite of the whole chain (every hash recomputed) still fails against an anchor
    taken before it; copies of the digest kept outside the database make the anchors
    themselves checkable.
    """

    class Reason(models.TextChoices):
        DAILY = "daily", _("Daily")
        EXPORT = "export", _("Finance export")
        MANUAL = "manual", _("On request")

    reason = models.CharField(max_length=16, choices=Reason.choices, verbose_name=_("reason"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("created by"),
    )
    audit_entry_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("audit entry id"))
    audit_hash = models.CharField(max_length=64, verbose_name=_("audit hash"))
    audit_length = models.BigIntegerField(verbose_name=_("audit length"))
    ledger_accounts = models.BigIntegerField(help_text=_("Reward accounts with ledger entries."),
        verbose_name=_("ledger accounts"))
    ledger_heads_recorded = models.BigIntegerField(
        help_text=_("Account heads recorded with this anchor: those moved since the last one."),
            verbose_name=_("ledger heads recorded")
    )
    digest = models.CharField(
        max_length=64, help_text=_("SHA-256 over the audit head and every account's ledger head."),
            verbose_name=_("digest")
    )
    note = models.CharField(max_length=200, blank=True, verbose_name=_("note"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("chain anchor")
        verbose_name_plural = _("chain anchors")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return gettext("anchor #%(id)s %(created)s %(digest)s…") % {
            "id": self.pk, "created": f"{self.created_at:%Y-%m-%d %H:%M}", "digest": self.digest[:12],
        }


class ChainAnchorHead(AppendOnlyModel):
    """One reward account's ledger head as an anchor saw it. No foreign key to the entry: the
    check must still report it when someone has removed that entry."""

    anchor = models.ForeignKey(ChainAnchor, on_delete=models.PROTECT, related_name="heads",
        verbose_name=_("anchor"))
    account_id = models.BigIntegerField(verbose_name=_("account id"))
    entry_id = models.BigIntegerField(db_index=True, verbose_name=_("entry id"))
    entry_hash = models.CharField(max_length=64, verbose_name=_("entry hash"))

    class Meta:
        verbose_name = _("chain anchor head")
        verbose_name_plural = _("chain anchor heads")

    def __str__(self) -> str:
        return gettext("account %(account)s head #%(entry)s") % {
            "account": self.account_id, "entry": self.entry_id,
        }


class ChainVerification(models.Model):
    """One run of `verify_audit`: when, and what it found."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    sound = models.BooleanField(null=True, help_text=_("Empty while the check runs."),
        verbose_name=_("sound"))
    audit_entries = models.BigIntegerField(default=0, verbose_name=_("audit entries"))
    ledger_entries = models.BigIntegerField(default=0, verbose_name=_("ledger entries"))
    ledger_accounts = models.BigIntegerField(default=0, verbose_name=_("ledger accounts"))
    anchors_checked = models.BigIntegerField(default=0, verbose_name=_("anchors checked"))
    problems = models.JSONField(
        default=list, blank=True,
        help_text=_("The first broken link of each chain: entry, expected and found hash."),
            verbose_name=_("problems"),
    )
    seconds = models.FloatField(null=True, blank=True, verbose_name=_("seconds"))

    class Meta:
        verbose_name = _("chain verification")
        verbose_name_plural = _("chain verifications")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        started = f"{self.started_at:%Y-%m-%d %H:%M}"
        if self.sound is None:
            return gettext("check %(started)s running") % {"started": started}
        if self.sound:
            return gettext("check %(started)s sound") % {"started": started}
        return gettext("check %(started)s BROKEN") % {"started": started}
