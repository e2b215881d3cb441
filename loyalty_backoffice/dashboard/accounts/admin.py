"""Members, cards, reward accounts and balance snapshots in the admin.

The member page is the support agent's desk: balances, the live check at Pomelo, requests
for credits and debits, and the member's timeline. Its views parse input, call one service
and show the answer; the services hold the rules.
"""

import functools

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import BalanceSnapshot, Card, Member, RewardAccount
from accounts.selectors import (
    member_balances,
    member_ids_by_identifier,
    member_latest_snapshot,
    snapshot_lines,
)
from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.rewards.forms import AdjustmentRequestForm, BalanceCheckForm
from loyalty_backoffice.dashboard.toolkit.filters import CreatedBetweenFilter, account_type_filter
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin, ReadOnlyInline
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.models import Adjustment
from rewards.selectors import member_open_adjustments, member_timeline
from rewards.services.adjustments import AdjustmentError, adjustment_request
from rewards.services.balance_checks import member_balance_check

TIMELINE_LIMIT = 100


def _outside_request_transaction(view):
    """Run the view without ATOMIC_REQUESTS' transaction: it calls Pomelo, and no database
    transaction (on SQLite, the write lock) may stay open while we wait for an answer."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return transaction.non_atomic_requests(wrapper)


class CardInline(ReadOnlyInline):
    model = Card
    fields = ["pomelo_card_id", "last_four", "status", "created_at"]
    readonly_fields = fields


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["pomelo_user_id", "name", "email", "status", "created_at"]
    # No date_hierarchy: its links cost a DISTINCT scan of the members (or of a search) per page.
    list_filter = ["status", CreatedBetweenFilter]
    # Ids and cards are searched first, on their indexes (get_search_results); a join to the
    # cards here would make every search de-duplicate (DISTINCT) the members it scans.
    search_fields = ["name", "=email", "=pomelo_user_id"]
    search_help_text = "Name, email, Pomelo user id, Pomelo card id or a card's last four digits."
    readonly_fields = ["pomelo_user_id", "created_at", "updated_at"]
    fields = ["pomelo_user_id", "name", "email", "status", "created_at", "updated_at"]
    inlines = [CardInline]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        # A Pomelo user id, card id or last four (what support pastes) is found on the indexes
        # alone. Anything else is a name or an email, which needs a scan of the members.
        matches = member_ids_by_identifier(term=search_term)
        if matches:
            return queryset.filter(pk__in=matches), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        # Members come from Pomelo: its notifications create them, keyed by its user id.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/check-balance/",
                 wrap(_outside_request_transaction(self.balance_check_view)),
                 name="accounts_member_check_balance"),
            path("<path:object_id>/request-credit/", wrap(self.adjustment_request_view),
                 {"direction": Adjustment.Direction.CREDIT}, name="accounts_member_request_credit"),
            path("<path:object_id>/request-debit/", wrap(self.adjustment_request_view),
                 {"direction": Adjustment.Direction.DEBIT}, name="accounts_member_request_debit"),
            *super().get_urls(),
        ]

    def _member(self, request, object_id) -> Member:
        member = self.get_object(request, unquote(object_id))
        if member is None:
            raise Http404(f"Member {object_id!r} does not exist.")
        if not self.has_view_permission(request, member):
            raise PermissionDenied
        return member

    def _member_url(self, member: Member, anchor: str = "") -> str:
        url = reverse("admin:accounts_member_change", args=[member.pk])
        return f"{url}#{anchor}" if anchor else url

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, unquote(object_id))
        if member is not None and self.has_view_permission(request, member):
            balances = member_balances(member=member)
            snapshot = member_latest_snapshot(member=member)
            lines = snapshot_lines(snapshot=snapshot, balances=balances) if snapshot else []
            can_check = request.user.has_perm("accounts.check_balance")
            extra_context = {
                **(extra_context or {}),
                "balances": balances,
                "snapshot": snapshot,
                "snapshot_lines": lines,
                "snapshot_outdated": any(line.ledger_changed_since for line in lines),
                "can_check_balance": can_check,
                "balance_check_form": BalanceCheckForm(member=member) if can_check else None,
                "can_request_adjustment": request.user.has_perm("rewards.add_adjustment"),
                "timeline": member_timeline(member=member, limit=TIMELINE_LIMIT),
                "timeline_limit": TIMELINE_LIMIT,
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def balance_check_view(self, request, object_id):
        """POST: ask Pomelo for the member's balances and show them beside our ledger's."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("accounts.check_balance"):
            raise PermissionDenied
        member = self._member(request, object_id)
        form = BalanceCheckForm(request.POST, member=member)
        if not form.is_valid():
            self.message_user(request, "Choose one of the member's cards, or none.", messages.ERROR)
            return HttpResponseRedirect(self._member_url(member, "balances"))
        try:
            snapshot = member_balance_check(
                member=member, actor=request.user, card=form.cleaned_data["card"],
                ip_address=client_ip(request),
            )
        except (ValueError, ImproperlyConfigured) as exc:
            self.message_user(request, f"The balance was not checked: {exc}", messages.ERROR)
            return HttpResponseRedirect(self._member_url(member, "balances"))
        if snapshot.error:
            self.message_user(
                request, f"Pomelo did not give the balance: {snapshot.error}", messages.ERROR
            )
        else:
            differing = [line for line in snapshot_lines(snapshot=snapshot) if line.differs]
            if differing:
                detail = "; ".join(
                    f"{line.account_type}: Pomelo {line.pomelo if line.pomelo is not None else 'nothing'}, "
                    f"our ledger {line.ledger if line.ledger is not None else '0.00'}"
                    for line in differing
                )
                self.message_user(
                    request, f"Pomelo's balance differs from our ledger — {detail}.", messages.WARNING
                )
            else:
                self.message_user(request, "Pomelo's balances match our ledger.", messages.SUCCESS)
        return HttpResponseRedirect(self._member_url(member, "balances"))

    def adjustment_request_view(self, request, object_id, direction):
        """A support agent asks for a credit or a debit; an approver decides later."""
        if not request.user.has_perm("rewards.add_adjustment"):
            raise PermissionDenied
        member = self._member(request, object_id)
        form = AdjustmentRequestForm(
            request.POST if request.method == "POST" else None, member=member, direction=direction
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                adjustment = adjustment_request(
                    maker=request.user, member=member, card=data["card"],
                    account_type=data["account_type"], direction=direction, amount=data["amount"],
                    reason_code=data["reason_code"], reason_text=data["reason_text"],
                    above_balance=data.get("above_balance", False), ip_address=client_ip(request),
                )
            except AdjustmentError as exc:
                form.add_error(None, str(exc))
            else:
                needed = adjustment.approvals_required
                approvers = "an approver approves" if needed == 1 else f"{needed} approvers approve"
                self.message_user(
                    request,
                    f"{adjustment.direction.capitalize()} of {adjustment.amount} "
                    f"{adjustment.account_type} requested as adjustment #{adjustment.pk}. Nothing "
                    f"moves until {approvers} it.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:rewards_adjustment_change", args=[adjustment.pk])
                )
        label = "credit" if direction == Adjustment.Direction.CREDIT else "debit"
        return TemplateResponse(request, "admin/accounts/member/adjustment_request.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Request a {label} for {member}",
            "member": member,
            "original": member,
            "has_view_permission": True,
            "direction": direction,
            "direction_label": label,
            "form": form,
            "balances": member_balances(member=member),
            "open_adjustments": member_open_adjustments(member=member),
            "has_cards": member.cards.exists(),
        })


@admin.register(Card)
class CardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pomelo_card_id", "last_four", "member", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["=pomelo_card_id", "=last_four", "=member__pomelo_user_id", "member__name"]
    list_select_related = ["member"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(RewardAccount)
class RewardAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["member", "account_type", "available_balance", "pending_balance", "updated_at"]
    list_filter = [account_type_filter("account_type")]
    search_fields = ["=member__pomelo_user_id", "member__name", "=member__email"]
    list_select_related = ["member"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at", "member", "card", "requested_by", "status_code", "pomelo_balances",
        "ledger_balances_display", "outcome",
    ]
    list_filter = ["status_code"]
    search_fields = ["=member__pomelo_user_id", "=card__pomelo_card_id", "member__name"]
    date_hierarchy = "created_at"
    list_select_related = ["member", "card", "requested_by"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = [
        "created_at", "member", "card", "requested_by", "status_code", "balances",
        "ledger_balances", "error", "raw_response",
    ]
    readonly_fields = fields

    @staticmethod
    def _amounts(values: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(values.items())) or "—"

    @admin.display(description="Pomelo")
    def pomelo_balances(self, obj: BalanceSnapshot):
        return self._amounts(obj.balances)

    @admin.display(description="our ledger")
    def ledger_balances_display(self, obj: BalanceSnapshot):
        return self._amounts(obj.ledger_balances)

    @admin.display(description="outcome")
    def outcome(self, obj: BalanceSnapshot):
        if obj.error:
            return format_html('<span class="errornote-inline" title="{}">error</span>', obj.error)
        if any(line.differs for line in snapshot_lines(snapshot=obj)):
            return "differs"
        return "matches"
