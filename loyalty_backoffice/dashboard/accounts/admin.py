"""Members, cards, reward accounts and balance snapshots in the admin.

The member page is the support agent's desk: balances, the live check at Pomelo, requests
for credits and debits, and the member's timeline. Its views parse input, call one service
and show the answer; the services hold the rules.
"""


from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.models import BalanceSnapshot, Card, Member, RewardAccount
from accounts.selectors import (
    member_balances,
    member_ids_by_identifier,
    member_latest_snapshot,
    snapshot_lines,
)
from kernel import permissions as perms
from kernel.client_ip import client_ip
from kernel.errors import BackofficeError
from loyalty_backoffice.dashboard.rewards.forms import (
    AdjustmentRequestForm,
    BalanceCheckForm,
    second_approval_thresholds,
)
from loyalty_backoffice.dashboard.toolkit.display import account_type_name, amount, unit_name
from loyalty_backoffice.dashboard.toolkit.filters import CreatedBetweenFilter, account_type_filter
from loyalty_backoffice.dashboard.toolkit.mixins import AccountTypeShownMixin, ReadOnlyAdminMixin
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.member_story_selectors import member_story
from rewards.models import Adjustment
from rewards.selectors import member_open_adjustments
from rewards.services.adjustments import AdjustmentError, adjustment_request
from rewards.services.balance_checks import member_balance_check

TIMELINE_LIMIT = 100



@admin.register(Member)
class MemberAdmin(ModelAdmin):
    list_display = ["name_or_id", "pomelo_user_id", "cards_last_four", "balances", "status", "created_at"]
    list_display_links = ["name_or_id"]
    # No date_hierarchy: its links cost a DISTINCT scan of the members (or of a search) per page.
    list_filter = ["status", CreatedBetweenFilter]
    # Ids and cards are searched first, on their indexes (get_search_results); a join to the
    # cards here would make every search de-duplicate (DISTINCT) the members it scans.
    search_fields = ["name", "=email", "=pomelo_user_id"]
    search_help_text = _("Name, email, Pomelo user id, Pomelo card id or a card's last four digits.")
    readonly_fields = ["pomelo_user_id", "created_at", "updated_at"]
    fields = ["pomelo_user_id", "name", "email", "status", "created_at", "updated_at"]
    # The member page shows the cards itself, above its story (change_form.html).
    inlines = []
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        # The list's balances and cards: two queries per page, whatever its length.
        return super().get_queryset(request).prefetch_related(
            Prefetch("reward_accounts", queryset=RewardAccount.objects.order_by("account_type")),
            Prefetch("cards", queryset=Card.objects.order_by("pomelo_card_id")),
        )

    @admin.display(description=_("Member"), ordering="name")
    def name_or_id(self, obj: Member) -> str:
        return obj.name or obj.email or obj.pomelo_user_id

    @admin.display(description=_("Cards"))
    def cards_last_four(self, obj: Member) -> str:
        return ", ".join(f"····{c.last_four}" if c.last_four else c.pomelo_card_id
                         for c in obj.cards.all()) or "—"

    @admin.display(description=_("Available balances"))
    def balances(self, obj: Member) -> str:
        return format_html_join(
            mark_safe("<br>"), "{}", ((amount(a.available_balance, a.account_type),)
                                     for a in obj.reward_accounts.all())
        ) or "—"

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
                 wrap(self.balance_check_view),
                 name="accounts_member_check_balance"),
            path("<path:object_id>/request-credit/", wrap(self.adjustment_request_view),
                 {"direction": Adjustment.Direction.CREDIT}, name="accounts_member_request_credit"),
            path("<path:object_id>/request-debit/", wrap(self.adjustment_request_view),
                 {"direction": Adjustment.Direction.DEBIT}, name="accounts_member_request_debit"),
            *super().get_urls(),
        ]

    def get_object(self, request, object_id, from_field=None):
        # The member page reads the member in its own change_view and again in Django's: one
        # read (with its accounts and cards) serves both within a request.
        key = (object_id, from_field)
        cached = getattr(request, "_member_object", None)
        if cached is None or cached[0] != key:
            request._member_object = (key, super().get_object(request, object_id, from_field))
        return request._member_object[1]

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
            can_check = request.user.has_perm(perms.CHECK_BALANCE)
            extra_context = {
                **(extra_context or {}),
                "balances": balances,
                "snapshot": snapshot,
                "snapshot_lines": lines,
                "snapshot_outdated": any(line.ledger_changed_since for line in lines),
                "can_check_balance": can_check,
                "balance_check_form": BalanceCheckForm(member=member) if can_check else None,
                "can_request_adjustment": request.user.has_perm(perms.ADD_ADJUSTMENT),
                # Every movement with its bucket and both balances after it (member_story).
                "timeline": member_story(member=member, limit=TIMELINE_LIMIT),
                "timeline_limit": TIMELINE_LIMIT,
                "time_zone": timezone.get_current_timezone_name(),
                "member_cards": list(member.cards.all()),
                "open_adjustments": member_open_adjustments(member=member),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def balance_check_view(self, request, object_id):
        """POST: ask Pomelo for the member's balances and show them beside our ledger's."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(perms.CHECK_BALANCE):
            raise PermissionDenied
        member = self._member(request, object_id)
        form = BalanceCheckForm(request.POST, member=member)
        if not form.is_valid():
            self.message_user(request, gettext("Choose one of the member's cards, or none."),
                              messages.ERROR)
            return HttpResponseRedirect(self._member_url(member, "balances"))
        try:
            snapshot = member_balance_check(
                member=member, actor=request.user, card=form.cleaned_data["card"],
                ip_address=client_ip(request),
            )
        except (BackofficeError, ImproperlyConfigured) as exc:
            self.message_user(request, gettext("The balance was not checked: %(problem)s") % {
                "problem": exc}, messages.ERROR)
            return HttpResponseRedirect(self._member_url(member, "balances"))
        if snapshot.error:
            self.message_user(
                request, gettext("Pomelo did not give the balance: %(problem)s") % {
                    "problem": snapshot.error}, messages.ERROR
            )
        else:
            differing = [line for line in snapshot_lines(snapshot=snapshot) if line.differs]
            if differing:
                detail = "; ".join(
                    gettext("%(account_type)s: Pomelo %(pomelo)s, our ledger %(ledger)s") % {
                        "account_type": account_type_name(line.account_type),
                        "pomelo": line.pomelo if line.pomelo is not None else gettext("nothing"),
                        "ledger": line.ledger if line.ledger is not None else "0.00"}
                    for line in differing
                )
                self.message_user(
                    request, gettext("Pomelo's balance differs from our ledger — %(detail)s.") % {
                        "detail": detail}, messages.WARNING
                )
            else:
                self.message_user(request, gettext("Pomelo's balances match our ledger."), messages.SUCCESS)
        return HttpResponseRedirect(self._member_url(member, "balances"))

    def adjustment_request_view(self, request, object_id, direction):
        """A support agent asks for a credit or a debit; an approver decides later."""
        if not request.user.has_perm(perms.ADD_ADJUSTMENT):
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
                label = gettext("Credit") if direction == Adjustment.Direction.CREDIT else gettext("Debit")
                self.message_user(
                    request,
                    ngettext(
                        "%(direction)s of %(amount)s %(account_type)s requested as adjustment "
                        "#%(pk)s. Nothing moves until an approver approves it.",
                        "%(direction)s of %(amount)s %(account_type)s requested as adjustment "
                        "#%(pk)s. Nothing moves until %(needed)d approvers approve it.", needed,
                    ) % {"direction": label.capitalize(), "amount": adjustment.amount,
                         "account_type": unit_name(adjustment.account_type), "pk": adjustment.pk,
                         "needed": needed},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:rewards_adjustment_change", args=[adjustment.pk])
                )
        label = gettext("credit") if direction == Adjustment.Direction.CREDIT else gettext("debit")
        return TemplateResponse(request, "admin/accounts/member/adjustment_request.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": (gettext("Request a credit for %(member)s") if direction == Adjustment.Direction.CREDIT
                      else gettext("Request a debit for %(member)s")) % {"member": member},
            "member": member,
            "original": member,
            "has_view_permission": True,
            "direction": direction,
            "direction_label": label,
            "form": form,
            "balances": member_balances(member=member),
            "open_adjustments": member_open_adjustments(member=member),
            "has_cards": member.cards.exists(),
            "second_approval_thresholds": second_approval_thresholds(),
        })


@admin.register(Card)
class CardAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["pomelo_card_id", "last_four", "member", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["=pomelo_card_id", "=last_four", "=member__pomelo_user_id", "member__name"]
    list_select_related = ["member"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(RewardAccount)
class RewardAccountAdmin(AccountTypeShownMixin, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["member", "account_type", "available_balance", "pending_balance", "updated_at"]
    list_filter = [account_type_filter("account_type")]
    search_fields = ["=member__pomelo_user_id", "member__name", "=member__email"]
    list_select_related = ["member"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(ReadOnlyAdminMixin, ModelAdmin):
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
        return ", ".join(f"{account_type_name(k)} {v}" for k, v in sorted(values.items())) or "—"

    @admin.display(description=_("Pomelo"))
    def pomelo_balances(self, obj: BalanceSnapshot):
        return self._amounts(obj.balances)

    @admin.display(description=_("our ledger"))
    def ledger_balances_display(self, obj: BalanceSnapshot):
        return self._amounts(obj.ledger_balances)

    @admin.display(description=_("outcome"))
    def outcome(self, obj: BalanceSnapshot):
        if obj.error:
            return format_html('<span class="errornote-inline" title="{}">{}</span>', obj.error,
                               _("error"))
        if any(line.differs for line in snapshot_lines(snapshot=obj)):
            return _("differs")
        return _("matches")
