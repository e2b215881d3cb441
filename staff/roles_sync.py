"""The roles are restored after every `migrate`, once every app's permissions exist."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS

from kernel.roles import roles_sync


def roles_sync_after_migrate(sender, *, using=DEFAULT_DB_ALIAS, apps=global_apps, verbosity=1, **kwargs):
    # Django creates each app's permissions in its own post_migrate; create them all first so
    # the order of INSTALLED_APPS does not matter.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, interactive=False, using=using, apps=apps)
    missing = roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )
    if missing:
        raise ImproperlyConfigured(f"kernel/roles.py names unknown permissions: {missing}")
