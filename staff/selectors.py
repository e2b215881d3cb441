"""Reads about staff accounts."""

from django.conf import settings

from staff.models import UserPreference


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
