"""Reads of the staff app."""

from django.contrib.auth.models import AbstractUser
from django.db.models import QuerySet

from staff.models import SavedFilter


def saved_filters_for(*, user: AbstractUser, view: str) -> QuerySet[SavedFilter]:
    """`user`'s own saved filters of the list `view`, by name; never anyone else's."""
    return SavedFilter.objects.filter(user_id=user.pk, view=view).order_by("name", "id")
