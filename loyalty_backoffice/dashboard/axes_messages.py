"""The strings of django-axes' sign-in pages (lockouts and the sign-in log) that staff see.

django-axes ships no Spanish or Portuguese catalogue; as for django-unfold
(`unfold_messages.py`), listing its ids here puts them in our catalogues, and Django merges
catalogues by message id. Nothing imports this module; re-check the ids when upgrading axes.
"""

from django.utils.translation import gettext_noop

AXES_MESSAGES = [
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Expires At"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("Clean up expired attempts"),
]
