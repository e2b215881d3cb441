"""The page a refused request gets: what was refused, why, and a way back."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from kernel.roles import ROLES, role_label


def _back_link(request: HttpRequest) -> str:
    """Where the person came from when that is one of our pages; the admin's home otherwise."""
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ) and referer != request.build_absolute_uri():
        return referer
    return reverse("admin:index")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: a PermissionDenied raised with a message shows that message; a bare one says
    which roles the person holds, since that is what decides."""
    reason = str(exception or "").strip()
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    roles = []
    if signed_in:
        roles = sorted(role_label(name) for name in
                       user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if not reason:
        reason = _("Your role does not allow this page or action.")
    return render(
        request,
        "403.html",
        {
            "reason": reason,
            "roles": roles,
            "signed_in": signed_in,
            "back_url": _back_link(request),
            "home_url": reverse("admin:index"),
        },
        status=403,
    )
