from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """Django's admin with our site class (installed in place of "django.contrib.admin")."""

    default_site = "loyalty_backoffice.admin_site.BackOfficeAdminSite"

    def ready(self):
        super().ready()
        # The staff pages that live in the project package rather than in an app's admin.py.
        from loyalty_backoffice.dashboard.bulk_adjustments import admin  # noqa: F401
