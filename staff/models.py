"""What each staff member chose for themselves: the language of their pages."""

from django.conf import settings
from django.db import models
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
