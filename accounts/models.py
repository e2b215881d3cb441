"""Members, their cards and their reward accounts (one per member and account type)."""

from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel.account_types import account_type_name


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        CLOSED = "closed", _("Closed")

    pomelo_user_id = models.CharField(_("Pomelo user id"), max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True, verbose_name=_("name"))
    email = models.EmailField(blank=True, db_index=True, verbose_name=_("email"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE,
        verbose_name=_("status"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["name"]),
            # The admin's searches match Pomelo ids case-insensitively (UPPER(...) = UPPER(...)).
            models.Index(Upper("pomelo_user_id"), name="member_user_id_upper"),
        ]

    def __str__(self) -> str:
        return gettext("%(name)s · %(user_id)s") % {
            "name": self.name or gettext("(no name)"), "user_id": self.pomelo_user_id,
        }


class Card(models.Model):
    """A member's card. We keep Pomelo's card id and the last four digits, never the PAN."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        BLOCKED = "blocked", _("Blocked")
        DISABLED = "disabled", _("Disabled")

    pomelo_card_id = models.CharField(_("Pomelo card id"), max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="cards",
        verbose_name=_("member"))
    last_four = models.CharField(
        max_length=4,
        blank=True,
        db_index=True,
        validators=[RegexValidator(r"^\d{4}$", "Last four must be exactly four digits.")],
            verbose_name=_("last four"),
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE,
        verbose_name=_("status"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("card")
        verbose_name_plural = _("cards")
        ordering = ["pomelo_card_id"]
        indexes = [models.Index(Upper("pomelo_card_id"), name="card_card_id_upper")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_four="") | models.Q(last_four__regex=r"^[0-9]{4}$"),
                name="card_last_four_is_four_digits",
            ),
        ]

    def __str__(self) -> str:
        suffix = f" ····{self.last_four}" if self.last_four else ""
        return f"{self.pomelo_card_id}{suffix}"


class RewardAccount(models.Model):
    """A member's balance of one account type (points, cashback, miles).

    The balance columns are a cache of the ledger: they change only in the same transaction as
    the ledger entries that explain them (rewards.services), with the row locked.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="reward_accounts",
        verbose_name=_("member"))
    account_type = models.CharField(max_length=32, verbose_name=_("account type"))
    pending_balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"),
        verbose_name=_("pending balance"))
    available_balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"),
        verbose_name=_("available balance"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("reward account")
        verbose_name_plural = _("reward accounts")
        ordering = ["member_id", "account_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "account_type"], name="reward_account_one_per_member_and_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member.pomelo_user_id} · {account_type_name(self.account_type)}"


class BalanceSnapshot(models.Model):
    """A member's balances as Pomelo reported them at one moment, beside our ledger's."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="balance_snapshots",
        verbose_name=_("member"))
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, null=True, blank=True, related_name="balance_snapshots",
            verbose_name=_("card")
    )
    balances = models.JSONField(
        default=dict, help_text=_("Pomelo's balance per account type, as decimal strings."),
            verbose_name=_("balances")
    )
    ledger_balances = models.JSONField(
        default=dict, help_text=_("Our available balance per account type at the same moment."),
            verbose_name=_("ledger balances")
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("status code"))
    raw_response = models.TextField(blank=True, verbose_name=_("raw response"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    requested_by = models.ForeignKey(
        "auth.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
            verbose_name=_("requested by")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("balance snapshot")
        verbose_name_plural = _("balance snapshots")
        ordering = ["-created_at", "-id"]
        permissions = [("check_balance", "Can check a member's balance at Pomelo")]

    def __str__(self) -> str:
        return gettext("%(user_id)s at %(time)s") % {
            "user_id": self.member.pomelo_user_id, "time": f"{self.created_at:%Y-%m-%d %H:%M}",
        }
