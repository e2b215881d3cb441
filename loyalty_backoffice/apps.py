from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """Django's admin with our site class (installed in place of "django.contrib.admin")."""

    default_site = "loyalty_backoffice.admin_site.BackOfficeAdminSite"
