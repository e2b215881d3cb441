"""What a staff member keeps for themselves: the language of their pages and saved filters of
the finance lists."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    """One row per person who chose something; none means every default applies."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="preference", verbose_name=_("user"))
    # A code of settings.LANGUAGES (checked by staff.services.user_language_set, not by the
    # column, so adding a language needs no migration); blank means LANGUAGE_CODE.
    language = models.CharField(_("language"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or settings.LANGUAGE_CODE})"


class SavedFilter(models.Model):
    """A list's filter query string under a name, for its owner only."""

    class View(models.TextChoices):
        ADJUSTMENTS = "adjustments", _("Adjustments")
        AUDIT_TRAIL = "audit_trail", _("Audit trail")
        LEDGER = "ledger", _("Ledger entries")
        REWARD_EVENTS = "reward_events", _("Reward events")

    NAME_MAX_LENGTH = 80
    QUERY_MAX_LENGTH = 2000

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    view = models.CharField(max_length=32, choices=View.choices)
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    # Without the leading "?" and without the page number.
    query = models.CharField(max_length=QUERY_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # "Month end" and "month end" are one name to the person who reads the list.
            models.UniqueConstraint(
                "user", "view", Lower("name"), name="saved_filter_name_unique_per_user_and_view"
            ),
        ]

    def __str__(self) -> str:
        return self.name
