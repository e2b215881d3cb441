"""Reads of the staff app: a person's language and saved filters."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db.models import QuerySet

from staff.models import SavedFilter, UserPreference


def saved_filters_for(*, user: AbstractUser, view: str) -> QuerySet[SavedFilter]:
    """`user`'s own saved filters of the list `view`, by name; never anyone else's."""
    return SavedFilter.objects.filter(user_id=user.pk, view=view).order_by("name", "id")


def language_choices() -> list[tuple[str, str]]:
    """The languages staff may choose: settings.LANGUAGES, codes and names."""
    return [(code, str(name)) for code, name in settings.LANGUAGES]


def user_language(*, user) -> str:
    """The language `user` chose, or "" when they chose none (LANGUAGE_CODE applies)."""
    if not user.is_authenticated:
        return ""
    language = (UserPreference.objects.filter(user_id=user.pk)
                .values_list("language", flat=True).first())
    return language or ""
