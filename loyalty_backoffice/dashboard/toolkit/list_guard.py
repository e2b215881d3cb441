"""Admin lists given query strings they cannot use: a message, never a server error.

Anyone can edit a list's address. A NUL character reaches PostgreSQL (which refuses it in
text and fails the request), a year past 9999 overflows Python's dates, a digit that
`str.isdigit()` accepts (such as "²") breaks `int()`. The guard below runs before every list
of the admin site (see BackOfficeAdminSite.register): values no list can use are refused
up front, and any refusal, ours or Django's, becomes Django's "?e=1" redirect with a message
that says what was wrong. Our own filters and searches parse their values with the functions
here so they refuse bad ones the same way.
"""

import re

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.template.response import SimpleTemplateResponse
from django.utils.translation import gettext as _

# The last year whose whole span (to the first day of the next year) Python can represent.
LAST_LISTABLE_YEAR = 9998
_ASCII_DIGITS = re.compile(r"[0-9]+")


def ascii_number(value: str, *, max_digits: int = 18) -> int | None:
    """`value` as a non-negative integer when it is only ASCII digits and short enough to fit a
    64-bit column, else None. (`str.isdigit()` also accepts "²" and "٣", which `int()` refuses
    or reads as another number.)"""
    value = value.strip()
    if len(value) > max_digits or not _ASCII_DIGITS.fullmatch(value):
        return None
    return int(value)


def list_query_validate(*, params, date_hierarchy: str | None) -> None:
    """Refuse what no list can use: NUL characters anywhere, and a date hierarchy year whose
    span Python cannot compute."""
    for key, values in params.lists():
        for text in (key, *values):
            if "\x00" in text:
                raise IncorrectLookupParameters(
                    _("the parameter %(name)r contains a NUL character") % {"name": key.replace("\x00", "")}
                )
    if date_hierarchy:
        year = params.get(f"{date_hierarchy}__year")
        if year is not None:
            number = ascii_number(year, max_digits=4)
            if number is None or not 1 <= number <= LAST_LISTABLE_YEAR:
                raise IncorrectLookupParameters(
                    _("the year %(year)r is not a year between 1 and %(last)s")
                    % {"year": year, "last": LAST_LISTABLE_YEAR}
                )


def _reason(exc: IncorrectLookupParameters) -> str:
    cause = exc.args[0] if exc.args else exc.__cause__
    if isinstance(cause, ValidationError):
        return "; ".join(cause.messages)
    if cause is None or not str(cause):
        return _("a filter, search, ordering or page the list does not have")
    return str(cause)


class ListQueryGuardMixin:
    """Mixed into every ModelAdmin of the site: refuses unusable list parameters with a
    message and Django's invalid-lookup redirect (?e=1) instead of a server error."""

    def get_changelist_instance(self, request):
        try:
            list_query_validate(params=request.GET, date_hierarchy=self.date_hierarchy)
            return super().get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            messages.error(request, _(
                "The list could not be shown as asked (%(reason)s), so it is shown without "
                "filters, search or ordering."
            ) % {"reason": _reason(exc)})
            raise

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # Django answers bad parameters that arrive together with "e=1" with a page titled
        # "Database error"; bad input is not one, so show the plain list and the message.
        if (
            isinstance(response, SimpleTemplateResponse)
            and response.template_name == "admin/invalid_setup.html"
            and set(request.GET) - {ERROR_FLAG}
        ):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        return response
