from django.contrib import admin

from loyalty_backoffice.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInline
from rewards.models import LedgerEntry, RewardEvent


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["created_at", "bucket", "amount", "description"]
    readonly_fields = fields


@admin.register(RewardEvent)
class RewardEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "transaction_id", "account_type", "member", "state", "amount", "needs_review", "created_at",
    ]
    list_filter = ["state", "account_type", "needs_review"]
    search_fields = ["=transaction_id", "=account__member__pomelo_user_id", "=card__pomelo_card_id"]
    date_hierarchy = "created_at"
    list_select_related = ["account__member"]
    inlines = [LedgerEntryInline]
    show_full_result_count = False

    @admin.display(ordering="account__member__pomelo_user_id")
    def member(self, obj: RewardEvent):
        return obj.account.member


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "bucket", "amount", "description", "reward_event"]
    list_filter = ["bucket", "account__account_type"]
    search_fields = ["=account__member__pomelo_user_id", "=reward_event__transaction_id"]
    date_hierarchy = "created_at"
    list_select_related = ["account__member", "reward_event"]
    show_full_result_count = False
