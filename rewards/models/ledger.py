"""The reward ledger and the reward events that feed it."""

from decimal import Decimal

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Card, RewardAccount
from kernel.account_types import account_type_name
from kernel.append_only import AppendOnlyModel


class NotificationKind(models.TextChoices):
    """Pomelo's three loyalty notifications."""

    PENDING = "pending", _("Pending reward")
    CONFIRMATION = "confirmation", _("Reward confirmation")
    CANCELLATION = "cancellation", _("Reward cancellation")


class RewardEvent(models.Model):
    """One reward: a card transaction × account type. Its state follows the README's lifecycle table."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")

    transaction_id = models.CharField(_("Pomelo transaction id"), max_length=64)
    account_type = models.CharField(max_length=32, verbose_name=_("account type"))
    # Empty only for a cancellation tombstone that arrived without a user id before the rest
    # of its reward: the first pending or confirmation of the reward fills it in.
    account = models.ForeignKey(
        RewardAccount, on_delete=models.PROTECT, related_name="events", null=True, blank=True,
            verbose_name=_("account")
    )
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, related_name="reward_events", null=True, blank=True,
            verbose_name=_("card")
    )
    state = models.CharField(max_length=16, choices=State.choices, verbose_name=_("state"))
    # What the ledger currently holds for this reward: the pending amount while PENDING, the
    # confirmed amount once CONFIRMED. Reversals use it, never an amount from a later message.
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"),
        verbose_name=_("amount"))
    pending_at = models.DateTimeField(null=True, blank=True, verbose_name=_("pending at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    cancelled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("cancelled at"))
    needs_review = models.BooleanField(default=False, db_index=True, verbose_name=_("needs review"))
    review_reason = models.CharField(max_length=300, blank=True, verbose_name=_("review reason"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("reward event")
        verbose_name_plural = _("reward events")
        ordering = ["-created_at", "-id"]
        permissions = [("export_rewardevent", "Can export reward events as CSV")]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction_id", "account_type"], name="reward_event_one_per_reward"
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            # The admin's searches match transaction ids case-insensitively.
            models.Index(Upper("transaction_id"), name="reward_event_tx_upper"),
            # The operations home counts, per account type and day, the rewards that became
            # pending, confirmed or cancelled in the last 30 days: with the account type in the
            # index each count is an index-only range scan, not a pass over every event.
            *(models.Index(fields=[column, "account_type"], name=f"reward_event_{column}_day",
                           condition=models.Q(**{f"{column}__isnull": False}))
              for column in ("pending_at", "confirmed_at", "cancelled_at")),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_id} · {account_type_name(self.account_type)} · {self.get_state_display()}"


class LedgerEntry(AppendOnlyModel):
    """An immutable movement of one bucket of one reward account. Corrections are new rows."""

    class Bucket(models.TextChoices):
        PENDING = "pending", _("Pending")
        AVAILABLE = "available", _("Available")

    account = models.ForeignKey(RewardAccount, on_delete=models.PROTECT, related_name="entries",
        verbose_name=_("account"))
    bucket = models.CharField(max_length=16, choices=Bucket.choices, verbose_name=_("bucket"))
    amount = models.DecimalField(max_digits=18, decimal_places=2, verbose_name=_("amount"))
    reward_event = models.ForeignKey(
        RewardEvent, on_delete=models.PROTECT, related_name="entries", null=True, blank=True,
            verbose_name=_("reward event")
    )
    adjustment = models.ForeignKey(
        "rewards.Adjustment", on_delete=models.PROTECT, related_name="entries",
        null=True, blank=True, verbose_name=_("adjustment"),
    )
    description = models.CharField(max_length=200, verbose_name=_("description"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    # The account's chain (docs/audit-chain.md), set by rewards.services.ledger.ledger_post.
    prev_hash = models.CharField(max_length=64, default="", db_default="", editable=False,
        verbose_name=_("prev hash"))
    entry_hash = models.CharField(max_length=64, default="", db_default="", editable=False,
        verbose_name=_("entry hash"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        permissions = [("export_ledgerentry", "Can export ledger entries as CSV")]
        indexes = [
            models.Index(fields=["account", "bucket"]),
            # An account's chain in order: its head when posting, its walk when verifying.
            models.Index(fields=["account", "id"], name="ledger_entry_account_chain"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="ledger_entry_amount_not_zero"
            ),
            # Exactly one cause: a reward event or a manual adjustment.
            models.CheckConstraint(
                condition=(
                    models.Q(reward_event__isnull=False, adjustment__isnull=True)
                    | models.Q(reward_event__isnull=True, adjustment__isnull=False)
                ),
                name="ledger_entry_has_one_cause",
            ),
            # An adjustment moves the ledger once, however its outcome was settled (Pomelo's
            # answer, or a person closing it as applied).
            models.UniqueConstraint(
                fields=["adjustment"], condition=models.Q(adjustment__isnull=False),
                name="ledger_entry_one_per_adjustment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.get_bucket_display()} {self.amount:+}"
