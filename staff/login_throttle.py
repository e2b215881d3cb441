"""Sign-in throttling (django-axes): the lockout is audited and explained to the person.

Axes counts failed sign-ins per username and client address (settings: AXES_*); after
LOGIN_FAILURE_LIMIT of them that pair is refused for LOGIN_COOLOFF_MINUTES, even with the
right password. The same username from another address is not affected.
"""

from axes.helpers import get_cool_off, get_failure_limit
from django.contrib import admin
from django.shortcuts import render

from staff.services import login_lockout_record


def lockout_audit(sender, *, request, username, ip_address, **kwargs) -> None:
    """Receiver of axes' user_locked_out. Axes sends it for the failure that causes the lockout
    and again for each attempt refused during it; only the first has counted its failures
    (the others are refused before counting), so one lockout makes one audit entry, however
    long someone keeps trying."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    login_lockout_record(username=username, ip_address=ip_address, failures=failures)


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page's answer while locked out (AXES_LOCKOUT_CALLABLE): 429 and why."""
    cool_off = get_cool_off(request)
    # Rendered here: axes' middleware returns it after the view, past template rendering.
    return render(request, "registration/locked_out.html", {
        **admin.site.each_context(request),
        "title": "Sign-in locked",
        "failure_limit": get_failure_limit(request, credentials),
        "cool_off_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }, status=429)
