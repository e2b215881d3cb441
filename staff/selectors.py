"""Reads of the staff app: a person's language and saved filters."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db.models import QuerySet
from django.utils.translation import get_language_info

from staff.models import SavedFilter, UserPreference


def saved_filters_for(*, user: AbstractUser, view: str) -> QuerySet[SavedFilter]:
    """`user`'s own saved filters of the list `view`, by name; never anyone else's."""
    return SavedFilter.objects.filter(user_id=user.pk, view=view).order_by("name", "id")


def language_choices() -> list[tuple[str, str]]:
    """The languages staff may choose (settings.LANGUAGES), each named in itself ("English",
    "Español", "Português brasileiro"), as language pickers do: someone who chose a language
    they cannot read still finds their own."""
    choices = []
    for code, name in settings.LANGUAGES:
        try:
            local = get_language_info(code)["name_local"]
        except KeyError:  # a code Django does not describe: the settings' name
            local = str(name)
        choices.append((code, local[:1].upper() + local[1:]))
    return choices


def user_language(*, user) -> str:
    """The language `user` chose, or "" when they chose none (LANGUAGE_CODE applies)."""
    if not user.is_authenticated:
        return ""
    language = (UserPreference.objects.filter(user_id=user.pk)
                .values_list("language", flat=True).first())
    return language or ""
