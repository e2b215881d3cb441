from django.contrib import admin
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from kernel import permissions as perms
from loyalty_backoffice.dashboard.toolkit.filters import CreatedBetweenFilter, account_type_filter
from loyalty_backoffice.dashboard.toolkit.finance_lists import FinanceListMixin
from loyalty_backoffice.dashboard.toolkit.mixins import (
    AccountTypeShownMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
)
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.member_story_selectors import ledger_entry_title
from rewards.models import LedgerEntry, RewardEvent
from rewards.selectors import (
    PomeloIdMatches,
    ledger_csv_rows,
    pomelo_id_matches,
    reward_event_csv_rows,
)
from staff.models import SavedFilter


class PomeloIdSearchMixin:
    """Search by Pomelo ids (transaction, user, card: the `search_fields`, all exact and
    case-insensitive) through their indexes.

    Django's search ORs one UPPER(...) = UPPER(...) per field across a join of the list's
    table with accounts, members and cards, which PostgreSQL can only answer by scanning them
    all: seconds over a million reward events. Here each word is looked up first on the ids'
    own indexes, then the list is filtered by the ids found, on its foreign-key indexes.
    """

    def search_condition(self, matches: PomeloIdMatches) -> Q:
        raise NotImplementedError

    def get_search_results(self, request, queryset, search_term):
        for word in smart_split(search_term):  # each word must match, as in Django's search
            if word.startswith(('"', "'")) and word[0] == word[-1]:
                word = unescape_string_literal(word)
            queryset = queryset.filter(self.search_condition(pomelo_id_matches(term=word)))
        return queryset, False


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["created_at", "bucket", "amount", "step"]
    readonly_fields = fields

    @admin.display(description=_("description"))
    def step(self, obj: LedgerEntry):
        # Stored in English; shown in the reader's language.
        return ledger_entry_title(obj)


@admin.register(RewardEvent)
class RewardEventAdmin(AccountTypeShownMixin, FinanceListMixin, PomeloIdSearchMixin, ReadOnlyAdminMixin,
                       ModelAdmin):
    finance_view = SavedFilter.View.REWARD_EVENTS
    export_permission = perms.EXPORT_REWARD_EVENT
    export_file_name = "reward-events"
    list_display = [
        "transaction_id", "account_type", "member", "state", "amount", "needs_review",
        "created_at",
    ]
    # The big lists avoid what scans the whole table on every page: date_hierarchy (a date
    # range filter instead), a DISTINCT of the account types, and an exact COUNT(*).
    list_filter = ["state", account_type_filter("account_type"), "needs_review", CreatedBetweenFilter]
    search_fields = ["=transaction_id", "=account__member__pomelo_user_id", "=card__pomelo_card_id"]
    list_select_related = ["account__member"]
    inlines = [LedgerEntryInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def export_rows(self, queryset):
        return reward_event_csv_rows(queryset=queryset)

    def search_condition(self, matches: PomeloIdMatches) -> Q:
        return (
            Q(pk__in=matches.reward_event_ids) | Q(account_id__in=matches.account_ids)
            | Q(card_id__in=matches.card_ids)
        )

    @admin.display(description=_("member"), ordering="account__member__pomelo_user_id")
    def member(self, obj: RewardEvent):
        # A tombstone kept from a cancellation without user id has no account yet.
        return obj.account.member if obj.account_id else "—"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(FinanceListMixin, PomeloIdSearchMixin, ReadOnlyAdminMixin, ModelAdmin):
    finance_view = SavedFilter.View.LEDGER
    export_permission = perms.EXPORT_LEDGER_ENTRY
    export_file_name = "ledger"
    list_display = ["created_at", "account", "bucket", "amount", "step", "reward_event"]
    list_filter = ["bucket", account_type_filter("account__account_type"), CreatedBetweenFilter]
    search_fields = ["=account__member__pomelo_user_id", "=reward_event__transaction_id"]
    list_select_related = ["account__member", "reward_event", "adjustment"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def search_condition(self, matches: PomeloIdMatches) -> Q:
        return Q(account_id__in=matches.account_ids) | Q(reward_event_id__in=matches.reward_event_ids)

    @admin.display(description=_("description"), ordering="description")
    def step(self, obj: LedgerEntry):
        # Stored in English; shown in the reader's language.
        return ledger_entry_title(obj)

    def export_rows(self, queryset):
        return ledger_csv_rows(queryset=queryset)
