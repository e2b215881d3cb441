"""The admin site of the back office: Django's, with every list guarded against bad input."""

from django.contrib import admin

from loyalty_backoffice.dashboard.toolkit.list_guard import ListQueryGuardMixin


def _guarded(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    if issubclass(admin_class, ListQueryGuardMixin):
        return admin_class
    return type(admin_class.__name__, (ListQueryGuardMixin, admin_class), {
        "__module__": admin_class.__module__,
        "__qualname__": admin_class.__qualname__,
        "__doc__": admin_class.__doc__,
    })


class BackOfficeAdminSite(admin.AdminSite):
    """Every model admin registered here, ours and those of the libraries we install, gets
    ListQueryGuardMixin, so no list can be broken from its address bar."""

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, _guarded(admin_class or admin.ModelAdmin), **options)
