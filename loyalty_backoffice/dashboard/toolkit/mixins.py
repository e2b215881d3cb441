"""Shared admin behaviour."""

from django.contrib import admin


class ReadOnlyAdminMixin:
    """For ledgers, events, deliveries and audits: viewable, never added, changed or deleted
    through the admin (not even by a superuser)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True
    can_delete = False
