"""The admin site of the back office: Django's admin in django-unfold's theme, with every list
guarded against bad input."""

from functools import partial

from django.contrib import admin
from django.urls import path
from unfold.admin import ModelAdmin as UnfoldModelAdmin
from unfold.sites import UnfoldAdminSite

from loyalty_backoffice.dashboard.staff.preferences import preferences_view
from loyalty_backoffice.dashboard.toolkit.list_guard import ListQueryGuardMixin


def _guarded(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    """The admin class with the list guard and, for the libraries' admins, unfold's theme."""
    themed = issubclass(admin_class, UnfoldModelAdmin)
    if issubclass(admin_class, ListQueryGuardMixin) and themed:
        return admin_class
    bases = (() if issubclass(admin_class, ListQueryGuardMixin) else (ListQueryGuardMixin,)) + (
        admin_class,) + (() if themed else (UnfoldModelAdmin,))
    return type(admin_class.__name__, bases, {
        "__module__": admin_class.__module__,
        "__qualname__": admin_class.__qualname__,
        "__doc__": admin_class.__doc__,
    })


class BackOfficeAdminSite(UnfoldAdminSite):
    """Every model admin registered here, ours and those of the libraries we install, gets
    ListQueryGuardMixin, so no list can be broken from its address bar.

    UnfoldAdminSite brings the theme's context (sidebar, colours, dashboard callback); the
    unfold app is installed with its basic config so it does not replace this site."""

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, _guarded(admin_class or admin.ModelAdmin), **options)

    def get_urls(self):
        # Each person's own preferences (the user menu's "Language"): any signed-in staff member.
        return [
            path("preferences/", self.admin_view(partial(preferences_view, site=self)),
                 name="preferences"),
            *super().get_urls(),
        ]
