"""Saved filters: a staff member names a list's current filters to open them again later.
Each public function is one transaction; a person only ever reaches their own filters."""

from collections.abc import Collection

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from staff.models import SavedFilter

# Parameters of a list's address that are not filters: the page, and the admin's error flag.
NOT_FILTERS = frozenset({"p", "e", "_changelist_filters"})


def saved_filter_query_clean(*, query: str, allowed_parameters: Collection[str]) -> str:
    """The query string as it is stored: without "?" and the page, every parameter one of
    `allowed_parameters` (the list's filters, search and ordering)."""
    params = QueryDict(query.strip().removeprefix("?"))
    unknown = sorted(set(params) - set(allowed_parameters) - NOT_FILTERS)
    if unknown:
        raise ValidationError({"query": _(
            "These parameters are not filters of this list: %(names)s. Nothing was saved."
        ) % {"names": ", ".join(unknown)}})
    cleaned = urlencode(
        [(key, value) for key, values in params.lists() if key not in NOT_FILTERS for value in values]
    )
    if len(cleaned) > SavedFilter.QUERY_MAX_LENGTH:
        raise ValidationError({"query": _(
            "These filters are too long to save (more than %(limit)s characters)."
        ) % {"limit": SavedFilter.QUERY_MAX_LENGTH}})
    return cleaned


def _name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the filter a name.")})
    if len(name) > SavedFilter.NAME_MAX_LENGTH:
        raise ValidationError({"name": _(
            "The name is longer than %(limit)s characters."
        ) % {"limit": SavedFilter.NAME_MAX_LENGTH}})
    return name


def saved_filter_create(
    *,
    user: AbstractUser,
    view: str,
    name: str,
    query: str,
    allowed_parameters: Collection[str],
) -> SavedFilter:
    """Save `query` for `user` under `name` on the list `view`. Raises ValidationError keyed by
    field (name, query) when the name is missing, too long or already used on that list."""
    if view not in SavedFilter.View.values:
        raise ValidationError({"view": _("There is no list called %(view)s.") % {"view": view}})
    name = _name_clean(name)
    query = saved_filter_query_clean(query=query, allowed_parameters=allowed_parameters)
    taken = ValidationError({"name": _(
        "You already have a filter called “%(name)s” on this list; choose another name or "
        "delete that one first."
    ) % {"name": name}})
    with transaction.atomic(durable=True):
        if SavedFilter.objects.filter(user_id=user.pk, view=view, name__iexact=name).exists():
            raise taken
        try:
            with transaction.atomic():
                return SavedFilter.objects.create(user_id=user.pk, view=view, name=name, query=query)
        except IntegrityError:
            raise taken from None  # saved by a second click at the same moment


def saved_filter_delete(*, user: AbstractUser, saved_filter_id: int) -> bool:
    """Delete one of `user`'s own filters; False when they have none with that id."""
    with transaction.atomic(durable=True):
        deleted, _counts = SavedFilter.objects.filter(pk=saved_filter_id, user_id=user.pk).delete()
    return deleted > 0
