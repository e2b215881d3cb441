from django.contrib import admin

from accounts.models import Card, Member, RewardAccount
from loyalty_backoffice.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline


class CardInline(ReadOnlyInline):
    model = Card
    fields = ["pomelo_card_id", "last_four", "status", "created_at"]
    readonly_fields = fields


class RewardAccountInline(ReadOnlyInline):
    model = RewardAccount
    fields = ["account_type", "available_balance", "pending_balance", "updated_at"]
    readonly_fields = fields


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["pomelo_user_id", "name", "email", "status", "created_at"]
    list_filter = ["status"]
    search_fields = [
        "name", "=email", "=pomelo_user_id", "=cards__pomelo_card_id", "=cards__last_four",
    ]
    date_hierarchy = "created_at"
    readonly_fields = ["pomelo_user_id", "created_at", "updated_at"]
    fields = ["pomelo_user_id", "name", "email", "status", "created_at", "updated_at"]
    inlines = [CardInline, RewardAccountInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        # Members come from Pomelo: its notifications create them, keyed by its user id.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Card)
class CardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pomelo_card_id", "last_four", "member", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["=pomelo_card_id", "=last_four", "=member__pomelo_user_id", "member__name"]
    list_select_related = ["member"]
    show_full_result_count = False


@admin.register(RewardAccount)
class RewardAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["member", "account_type", "available_balance", "pending_balance", "updated_at"]
    list_filter = ["account_type"]
    search_fields = ["=member__pomelo_user_id", "member__name", "=member__email"]
    list_select_related = ["member"]
    show_full_result_count = False
