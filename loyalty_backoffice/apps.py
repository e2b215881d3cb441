from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    """Django's admin with our site class (installed in place of "django.contrib.admin").

    Every staff-facing page lives in `loyalty_backoffice.dashboard`; the domain apps have no
    `admin.py`, so their model admins are registered here, after Django's autodiscovery has
    registered the libraries' own (the staff admin replaces the auth User admin).
    """

    default_site = "loyalty_backoffice.dashboard.site.BackOfficeAdminSite"

    def ready(self):
        super().ready()
        from loyalty_backoffice.dashboard import registry  # noqa: F401 - registers the model admins
