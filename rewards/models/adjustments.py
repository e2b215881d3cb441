"""Manual credits and debits under maker-checker approval."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Card, Member
from kernel.account_types import account_type_name


def idempotency_key_new() -> str:
    # Created with the request and reused on every retry of the Pomelo call.
    return f"adj-{secrets.token_hex(12)}"


class IllegalTransition(Exception):
    pass


class AdjustmentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if "state" in kwargs:
            raise IllegalTransition("an adjustment's state changes only through its services")
        return super().update(**kwargs)

    def open(self):
        return self.filter(state__in=Adjustment.OPEN_STATES)


class Adjustment(models.Model):
    class State(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", _("Pending approval")
        APPROVED = "approved", _("Approved")
        SUBMITTING = "submitting", _("Submitting to Pomelo")
        # Sent, but Pomelo's answer is not known and the idempotency window has passed: a person
        # re-sends it or closes it as applied or not applied.
        OUTCOME_UNKNOWN = "outcome_unknown", _("Outcome unknown")
        SUCCEEDED = "succeeded", _("Succeeded")
        # Final: Pomelo refused it (or a person closed it as not applied). Nothing was applied.
        FAILED = "failed", _("Failed")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    class Direction(models.TextChoices):
        CREDIT = "credit", _("Credit (mint)")
        DEBIT = "debit", _("Debit (burn)")

    class ReasonCode(models.TextChoices):
        GOODWILL = "goodwill", _("Goodwill")
        CORRECTION = "correction", _("Correction")
        DISPUTE = "dispute", _("Dispute")
        FRAUD = "fraud", _("Fraud")
        MIGRATION = "migration", _("Migration")
        OTHER = "other", _("Other")

    OPEN_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING, State.OUTCOME_UNKNOWN)
    TRANSITIONS = {
        State.PENDING_APPROVAL: {State.APPROVED, State.REJECTED, State.CANCELLED, State.EXPIRED},
        State.APPROVED: {State.SUBMITTING},
        State.SUBMITTING: {State.SUCCEEDED, State.FAILED, State.OUTCOME_UNKNOWN},
        # A person re-sends it (back to APPROVED, same key) or closes it as applied or not.
        State.OUTCOME_UNKNOWN: {State.APPROVED, State.SUCCEEDED, State.FAILED},
    }

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="adjustments",
        verbose_name=_("member"))
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="adjustments",
        verbose_name=_("card"))
    account_type = models.CharField(max_length=32, verbose_name=_("account type"))
    direction = models.CharField(max_length=8, choices=Direction.choices, verbose_name=_("direction"))
    amount = models.DecimalField(
        max_digits=18, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))],
            verbose_name=_("amount")
    )
    reason_code = models.CharField(max_length=16, choices=ReasonCode.choices, verbose_name=_("reason code"))
    reason_text = models.TextField(verbose_name=_("reason text"))
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="adjustments_made",
            verbose_name=_("maker")
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.PENDING_APPROVAL, db_index=True,
            verbose_name=_("state")
    )
    approvals_required = models.PositiveSmallIntegerField(default=1, verbose_name=_("approvals required"))
    balance_override = models.BooleanField(
        default=False, help_text=_("An approver allowed a debit above the available balance."),
            verbose_name=_("balance override")
    )
    idempotency_key = models.CharField(max_length=64, unique=True, default=idempotency_key_new,
        verbose_name=_("idempotency key"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    approved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("approved at"))
    first_sent_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When the first attempt was claimed; the idempotency window counts from here."),
            verbose_name=_("first sent at"),
    )
    submitted_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the latest attempt was claimed."),
            verbose_name=_("submitted at")
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("If the latest attempt has recorded nothing by then, its worker is presumed dead."),
            verbose_name=_("lease expires at"),
    )
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))
    submit_attempts = models.PositiveIntegerField(default=0, verbose_name=_("submit attempts"))
    pomelo_status_code = models.PositiveSmallIntegerField(null=True, blank=True,
        verbose_name=_("pomelo status code"))
    pomelo_request = models.JSONField(null=True, blank=True, verbose_name=_("pomelo request"))
    pomelo_response = models.TextField(blank=True, verbose_name=_("pomelo response"))
    pomelo_reference = models.CharField(max_length=200, blank=True, verbose_name=_("pomelo reference"))
    failure_reason = models.TextField(blank=True, verbose_name=_("failure reason"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("The approver who closed an adjustment of unknown outcome as applied or not."),
            verbose_name=_("resolved by"),
    )

    objects = AdjustmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("approve_adjustment", "Can approve or reject adjustments"),
            ("retry_adjustment", "Can resume a submission to Pomelo"),
            ("export_adjustment", "Can export adjustments as CSV"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "account_type", "direction"],
                condition=models.Q(
                    state__in=["pending_approval", "approved", "submitting", "outcome_unknown"]
                ),
                name="adjustment_one_open_per_member_type_direction",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="adjustment_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["member", "-created_at"]),
            # The list's totals (count and sum per account type and direction, and of those
            # succeeded) read this index alone, in order, instead of the table.
            models.Index(
                fields=["account_type", "direction", "state", "amount", "id"], name="adjustment_totals"
            ),
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._persisted_state = self.state if self.pk else None

    def __str__(self) -> str:
        # Titles and breadcrumbs: in the reader's language, evaluated when shown.
        return gettext("#%(id)s %(direction)s %(amount)s %(account_type)s · %(state)s") % {
            "id": self.pk, "direction": self.get_direction_display(), "amount": self.amount,
            "account_type": account_type_name(self.account_type), "state": self.get_state_display(),
        }

    def save(self, *args, **kwargs):
        # A guard below the admin: the state moves only through transition_to().
        if self._persisted_state is not None and self.state != self._persisted_state:
            if getattr(self, "_transition_from", None) != self._persisted_state:
                raise IllegalTransition("an adjustment's state changes only through its services")
        if self._persisted_state is None and self.state != self.State.PENDING_APPROVAL:
            raise IllegalTransition("a new adjustment starts pending approval")
        super().save(*args, **kwargs)
        self._persisted_state = self.state
        self._transition_from = None

    def delete(self, *args, **kwargs):
        raise IllegalTransition("adjustments are never deleted")

    @property
    def signed_amount(self) -> Decimal:
        return self.amount if self.direction == self.Direction.CREDIT else -self.amount

    def transition_to(self, new_state: str) -> str:
        """Move to `new_state` if the state machine allows it; the caller saves.

        Only the services in rewards.services.adjustments call this.
        """
        allowed = self.TRANSITIONS.get(self.state, set())
        if new_state not in allowed:
            raise IllegalTransition(
                f"adjustment #{self.pk} is {self.get_state_display().lower()}; "
                f"it cannot become {self.State(new_state).label.lower()}"
            )
        previous, self.state = self.state, new_state
        self._transition_from = previous
        return previous


class Approval(models.Model):
    adjustment = models.ForeignKey(Adjustment, on_delete=models.PROTECT, related_name="approvals",
        verbose_name=_("adjustment"))
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals_given",
            verbose_name=_("approver")
    )
    comment = models.TextField(verbose_name=_("comment"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("approval")
        verbose_name_plural = _("approvals")
        ordering = ["created_at", "id"]
        # The approvals list is read in this order, a page at a time.
        indexes = [models.Index(fields=["created_at", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["adjustment", "approver"], name="approval_one_per_approver"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(approver)s approved #%(id)s") % {
            "approver": self.approver, "id": self.adjustment_id,
        }
