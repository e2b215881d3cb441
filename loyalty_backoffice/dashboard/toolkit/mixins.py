"""Shared admin behaviour."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline

from kernel.account_types import account_type_name


class ReadOnlyAdminMixin:
    """For ledgers, events, deliveries and audits: viewable, never added, changed or deleted
    through the admin (not even by a superuser)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, TabularInline):
    extra = 0
    show_change_link = True
    can_delete = False


class AccountTypeShownMixin:
    """Shows a model's `account_type` by its name in the reader's language ("Puntos"), in lists
    and on read-only pages, instead of the stored code ("points"); filters and ordering still
    use the code."""

    @admin.display(description=_("account type"), ordering="account_type")
    def account_type_shown(self, obj):
        return account_type_name(obj.account_type)

    @classmethod
    def _shown(cls, names):
        return [cls._shown(name) if isinstance(name, list | tuple)
                else "account_type_shown" if name == "account_type" else name for name in names]

    def get_list_display(self, request):
        return self._shown(super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._shown(super().get_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return [*self._shown(super().get_readonly_fields(request, obj)), "account_type_shown"]

    def get_fieldsets(self, request, obj=None):
        return [(title, {**options, "fields": self._shown(options["fields"])})
                for title, options in super().get_fieldsets(request, obj)]
