"""Adjustments in the admin: read-only records with state-dependent buttons, the approver's
queue, confirmation pages for every decision, totals and the CSV export for finance.

The views parse input, call one service and show its answer; the services hold the rules.
"""

import json
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from kernel import permissions as perms
from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.rewards.forms import (
    AdjustmentCommentForm,
    AdjustmentOutcomeForm,
    AdjustmentReviewForm,
)
from loyalty_backoffice.dashboard.toolkit.display import amount
from loyalty_backoffice.dashboard.toolkit.filters import (
    AccountTypeFilter,
    ApproverFilter,
    CreatedBetweenFilter,
    MadeByMeFilter,
    SubmissionAttentionFilter,
    WaitingForMyApprovalFilter,
)
from loyalty_backoffice.dashboard.toolkit.finance_lists import FinanceListMixin
from loyalty_backoffice.dashboard.toolkit.list_guard import ascii_number
from loyalty_backoffice.dashboard.toolkit.mixins import AccountTypeShownMixin, ReadOnlyAdminMixin
from rewards.models import Adjustment, Approval
from rewards.policies import (
    idempotency_window_end,
    may_send_automatically,
    negative_balance_allowed,
)
from rewards.selectors import (
    adjustment_actions,
    adjustment_approvals,
    adjustment_balance_effect,
    adjustment_csv_rows,
    adjustment_history,
    adjustment_outcome_evidence,
    adjustment_totals,
    adjustments_waiting_for,
    member_recent_adjustments,
)
from rewards.services.adjustments import (
    AdjustmentError,
    adjustment_approve,
    adjustment_cancel,
    adjustment_decide,
    adjustment_outcome_check_request,
    adjustment_reject,
    adjustment_resume,
)
from staff.models import SavedFilter

State = Adjustment.State
MAX_ID_DIGITS = 18  # a longer number is no id (and would overflow the database's integer)


def _pretty_json(value) -> str:
    if value in (None, "", {}):
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@admin.register(Adjustment)
class AdjustmentAdmin(AccountTypeShownMixin, FinanceListMixin, ReadOnlyAdminMixin, ModelAdmin):
    finance_view = SavedFilter.View.ADJUSTMENTS
    export_permission = perms.EXPORT_ADJUSTMENT
    export_file_name = "adjustments"
    list_display = [
        # The amount carries its unit, so the account type needs no column of its own: the
        # list fits 1366 px with the sidebar open.
        "id", "created_at", "member_link", "direction_shown", "amount_shown", "state_badge",
        "reason_code", "maker", "approvals_display", "completed_at",
    ]
    list_display_links = ["id", "created_at"]
    list_filter = [
        WaitingForMyApprovalFilter, MadeByMeFilter, "state", SubmissionAttentionFilter, AccountTypeFilter,
        "direction", "reason_code",
        ("maker", admin.RelatedOnlyFieldListFilter), ApproverFilter, CreatedBetweenFilter,
    ]
    search_fields = [
        "=member__pomelo_user_id", "=card__pomelo_card_id", "=card__last_four", "member__name",
        "=idempotency_key", "=pomelo_reference",
    ]
    search_help_text = _(
        "Adjustment number, member's Pomelo user id or name, card id or last four, "
        "idempotency key or Pomelo reference."
    )
    # No date_hierarchy: CreatedBetweenFilter picks any period without the DISTINCT scan of
    # the (filtered) adjustments that the hierarchy's links cost on every page.
    list_select_related = ["member", "maker"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    @admin.display(description=_("direction"), ordering="direction")
    def direction_shown(self, obj: Adjustment) -> str:
        # "Credit" and "Debit": mint and burn are Pomelo's words, not staff's.
        return _("Credit") if obj.direction == Adjustment.Direction.CREDIT else _("Debit")

    @admin.display(description=_("amount"), ordering="amount")
    def amount_shown(self, obj: Adjustment) -> str:
        return amount(obj.amount, obj.account_type)

    fieldsets = [
        (_("Request"), {"fields": [
            "member_link", "card", "account_type", "direction", "amount", "reason_code",
            "reason_text", "maker", "created_at", "expires_at",
        ]}),
        (_("Approval"), {"fields": ["state", "approvals_display", "balance_override", "approved_at"]}),
        (_("Pomelo"), {"fields": [
            "completed_at", "resolved_by", "pomelo_reference", "failure_reason",
        ]}),
        # What an engineer reads when a submission misbehaves; folded away for everyone else.
        (_("Technical details"), {"classes": ["collapse"], "fields": [
            "idempotency_key", "first_sent_at", "idempotency_window_end", "submitted_at",
            "lease_expires_at", "submit_attempts", "pomelo_status_code", "pomelo_request_display",
            "pomelo_response_display",
        ]}),
    ]
    readonly_fields = [
        "member_link", "card", "account_type", "direction", "amount", "reason_code", "reason_text",
        "maker", "created_at", "expires_at", "state", "approvals_display", "balance_override",
        "approved_at", "first_sent_at", "idempotency_window_end", "submitted_at",
        "lease_expires_at", "submit_attempts", "completed_at", "resolved_by",
        "pomelo_status_code", "pomelo_reference", "idempotency_key", "failure_reason",
        "pomelo_request_display", "pomelo_response_display",
    ]

    # --- list and detail --------------------------------------------------------------

    def get_queryset(self, request):
        given = (
            Approval.objects.filter(adjustment=OuterRef("pk")).order_by().values("adjustment")
            .annotate(n=Count("pk")).values("n")
        )
        # A subquery, not a join: totals and filters over this queryset stay one row each.
        return super().get_queryset(request).annotate(
            approvals_given=Coalesce(Subquery(given, output_field=IntegerField()), Value(0))
        )

    def get_ordering(self, request):
        if request.GET.get(WaitingForMyApprovalFilter.parameter_name) == WaitingForMyApprovalFilter.MINE:
            return ["created_at", "id"]  # the queue is served oldest first
        return ["-created_at", "-id"]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        number = ascii_number(search_term.strip().removeprefix("#"), max_digits=MAX_ID_DIGITS)
        if number is not None:
            results |= queryset.filter(pk=number)
        return results, may_have_duplicates

    @admin.display(description=_("member"), ordering="member__pomelo_user_id")
    def member_link(self, obj: Adjustment):
        url = reverse("admin:accounts_member_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member)

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj: Adjustment):
        return format_html(
            '<span class="adjustment-state state-{}">{}</span>', obj.state, obj.get_state_display()
        )

    @admin.display(description=_("approvals"))
    def approvals_display(self, obj: Adjustment):
        given = getattr(obj, "approvals_given", None)
        if given is None:
            given = obj.approvals.count()
        return _("%(given)s of %(required)s") % {"given": given, "required": obj.approvals_required}

    @admin.display(description=_("idempotency window ends"))
    def idempotency_window_end(self, obj: Adjustment):
        # Until then a submission is retried and resumed automatically; after, a person decides.
        end = idempotency_window_end(obj)
        return formats.localize(timezone.template_localtime(end)) if end else "—"

    @admin.display(description=_("Pomelo request"))
    def pomelo_request_display(self, obj: Adjustment):
        text = _pretty_json(obj.pomelo_request)
        return format_html('<pre class="pomelo-exchange">{}</pre>', text) if text else "—"

    @admin.display(description=_("Pomelo response"))
    def pomelo_response_display(self, obj: Adjustment):
        text = _pretty_json(obj.pomelo_response)
        return format_html('<pre class="pomelo-exchange">{}</pre>', text) if text else "—"

    def changelist_view(self, request, extra_context=None):
        user = request.user
        is_approver = user.has_perm(perms.APPROVE_ADJUSTMENT)
        queue = WaitingForMyApprovalFilter
        extra_context = {
            **(extra_context or {}),
            "is_approver": is_approver,
            "queue_count": adjustments_waiting_for(user=user).count() if is_approver else None,
            "queue_query": f"?{queue.parameter_name}={queue.MINE}",
            "queue_active": request.GET.get(queue.parameter_name) == queue.MINE,
        }
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        if "cl" in context:
            context["totals"] = adjustment_totals(queryset=context["cl"].queryset)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        adjustment = self.get_object(request, unquote(object_id))
        if adjustment is not None and self.has_view_permission(request, adjustment):
            extra_context = {
                **(extra_context or {}),
                "user_actions": adjustment_actions(adjustment=adjustment, user=request.user),
                "approvals": adjustment_approvals(adjustment=adjustment),
                "history": adjustment_history(adjustment=adjustment),
                "evidence": (adjustment_outcome_evidence(adjustment=adjustment)
                             if adjustment.state == State.OUTCOME_UNKNOWN else None),
                "window_end": idempotency_window_end(adjustment),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # --- decision pages -----------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/review/", wrap(self.review_view),
                 name="{}_{}_review".format(*info)),
            path("<path:object_id>/cancel/", wrap(self.cancel_view), name="{}_{}_cancel".format(*info)),
            path("<path:object_id>/resume/", wrap(self.resume_view),
                 name="{}_{}_resume".format(*info)),
            path("<path:object_id>/outcome/", wrap(self.outcome_view),
                 name="{}_{}_outcome".format(*info)),
            *super().get_urls(),
        ]

    def _adjustment(self, request, object_id) -> Adjustment:
        adjustment = self.get_object(request, unquote(object_id))
        if adjustment is None:
            raise Http404(f"Adjustment {object_id!r} does not exist.")
        if not self.has_view_permission(request, adjustment):
            raise PermissionDenied
        return adjustment

    def _detail_redirect(self, adjustment: Adjustment) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:rewards_adjustment_change", args=[adjustment.pk]))

    def _render(self, request, template: str, adjustment: Adjustment, title: str, **context):
        if "effect" not in context:
            context["effect"] = adjustment_balance_effect(adjustment=adjustment)
        context.setdefault("window_end", idempotency_window_end(adjustment))
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "adjustment": adjustment,
            "original": adjustment,
            "has_view_permission": True,
            "approvals": adjustment_approvals(adjustment=adjustment),
            **context,
        })

    def review_view(self, request, object_id):
        """Approve or reject: GET shows the request and its effect, POST decides."""
        if not request.user.has_perm(perms.APPROVE_ADJUSTMENT):
            raise PermissionDenied
        adjustment = self._adjustment(request, object_id)
        effect = adjustment_balance_effect(adjustment=adjustment)
        offer_override = adjustment.direction == Adjustment.Direction.DEBIT and effect.above_available
        form = AdjustmentReviewForm(
            request.POST if request.method == "POST" else None, offer_override=offer_override
        )
        if request.method == "POST" and form.is_valid():
            data, ip_address = form.cleaned_data, client_ip(request)
            try:
                if data["decision"] == "approve":
                    adjustment = adjustment_approve(
                        adjustment_id=adjustment.pk, approver=request.user, comment=data["comment"],
                        override_balance=data.get("override_balance", False), ip_address=ip_address,
                    )
                else:
                    adjustment = adjustment_reject(
                        adjustment_id=adjustment.pk, approver=request.user, comment=data["comment"],
                        ip_address=ip_address,
                    )
            except AdjustmentError as exc:
                form.add_error(None, str(exc))
                adjustment.refresh_from_db()
                effect = adjustment_balance_effect(adjustment=adjustment)
            else:
                self.message_user(request, *self._state_message(adjustment, gettext("approved")))
                return self._detail_redirect(adjustment)
        return self._render(
            request, "admin/rewards/adjustment/review.html", adjustment,
            _("Review adjustment #%(pk)s") % {"pk": adjustment.pk},
            form=form,
            effect=effect,
            negative_balance_allowed=negative_balance_allowed(),
            user_actions=adjustment_actions(adjustment=adjustment, user=request.user),
            recent=member_recent_adjustments(member=adjustment.member, exclude_id=adjustment.pk),
        )

    @staticmethod
    def _state_message(adjustment: Adjustment, done: str) -> tuple[str, int]:
        """What the person's action led to, as the adjustment now stands (a task may already
        have run in-process): never a success where the outcome is a failure or unknown."""
        adjustment.refresh_from_db()
        pk = adjustment.pk
        if adjustment.state == State.REJECTED:
            return gettext("Adjustment #%(pk)s rejected. Nothing was sent to Pomelo.") % {"pk": pk}, \
                messages.SUCCESS
        if adjustment.state == State.PENDING_APPROVAL:
            missing = adjustment.approvals_required - adjustment.approvals.count()
            return (ngettext(
                "Your approval of adjustment #%(pk)s is recorded; it needs %(missing)d more "
                "approval from someone else.",
                "Your approval of adjustment #%(pk)s is recorded; it needs %(missing)d more "
                "approvals from someone else.", missing) % {"pk": pk, "missing": missing},
                messages.SUCCESS)
        values = {"pk": pk, "done": done, "reason": adjustment.failure_reason}
        if adjustment.state == State.SUCCEEDED:
            return gettext("Adjustment #%(pk)s %(done)s and applied at Pomelo.") % values, messages.SUCCESS
        if adjustment.state == State.FAILED:
            return (gettext("Adjustment #%(pk)s %(done)s, but it ended failed: %(reason)s") % values,
                    messages.ERROR)
        if adjustment.state == State.OUTCOME_UNKNOWN:
            return (gettext("Adjustment #%(pk)s %(done)s, but its outcome at Pomelo is unknown: "
                            "%(reason)s") % values, messages.WARNING)
        if adjustment.state == State.SUBMITTING and adjustment.failure_reason:
            return (gettext("Adjustment #%(pk)s %(done)s; its attempt failed and it will be sent "
                            "again: %(reason)s") % values, messages.WARNING)
        return (gettext("Adjustment #%(pk)s %(done)s; it is being sent to Pomelo. This page shows "
                        "the outcome once Pomelo has answered.") % values, messages.INFO)

    def cancel_view(self, request, object_id):
        """The maker withdraws their own pending request."""
        adjustment = self._adjustment(request, object_id)
        if adjustment.maker_id != request.user.pk:
            raise PermissionDenied
        return self._comment_action(
            request, adjustment,
            act=partial(adjustment_cancel, adjustment_id=adjustment.pk, maker=request.user),
            template="admin/rewards/adjustment/cancel.html",
            title=_("Cancel adjustment #%(pk)s") % {"pk": adjustment.pk},
            done=lambda a: gettext("Adjustment #%(pk)s cancelled. Nothing was sent to Pomelo.") % {
                "pk": a.pk},
        )

    def resume_view(self, request, object_id):
        """Have a submission whose lease is over picked up now: sent again with its key inside
        the idempotency window, or handed to an approver's decision past it."""
        user = request.user
        if not (user.has_perm(perms.APPROVE_ADJUSTMENT) or user.has_perm(perms.RETRY_ADJUSTMENT)):
            raise PermissionDenied
        adjustment = self._adjustment(request, object_id)
        return self._comment_action(
            request, adjustment,
            act=partial(adjustment_resume, adjustment_id=adjustment.pk, actor=user),
            template="admin/rewards/adjustment/resume.html",
            title=_("Resume adjustment #%(pk)s") % {"pk": adjustment.pk},
            done=lambda a: self._state_message(a, gettext("resumed")),
            may_resend=adjustment.state != State.SUBMITTING or self._inside_window(adjustment),
        )

    @staticmethod
    def _inside_window(adjustment: Adjustment) -> bool:
        return may_send_automatically(adjustment, at=timezone.now())

    def outcome_view(self, request, object_id):
        """An adjustment whose outcome is unknown: the balance at Pomelo beside the expected
        change, and the approver's decision (re-send, or close as applied or not applied)."""
        user = request.user
        if not user.has_perm(perms.APPROVE_ADJUSTMENT):
            raise PermissionDenied
        adjustment = self._adjustment(request, object_id)
        here = reverse("admin:rewards_adjustment_outcome", args=[adjustment.pk])
        if request.method == "POST" and "check_balance" in request.POST:
            try:
                adjustment_outcome_check_request(
                    adjustment_id=adjustment.pk, actor=user, ip_address=client_ip(request)
                )
            except AdjustmentError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, gettext("Balance check at Pomelo requested: its answer "
                                                   "shows here once Pomelo has given it."),
                                  messages.INFO)
            return HttpResponseRedirect(here)
        form = AdjustmentOutcomeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                adjustment = adjustment_decide(
                    adjustment_id=adjustment.pk, approver=user, decision=decision,
                    comment=form.cleaned_data["comment"], ip_address=client_ip(request),
                )
            except AdjustmentError as exc:
                form.add_error(None, str(exc))
                adjustment.refresh_from_db()
            else:
                done = {"resend": gettext("re-sent with the same idempotency key"),
                        "applied": gettext("closed as applied; the ledger booked it"),
                        "not_applied": gettext("closed as not applied")}[decision]
                if decision == "not_applied":
                    adjustment.refresh_from_db()
                    self.message_user(request, gettext(
                        "Adjustment #%(pk)s %(done)s. Nothing was booked; a new request can follow."
                    ) % {"pk": adjustment.pk, "done": done}, messages.SUCCESS)
                else:
                    self.message_user(request, *self._state_message(adjustment, done))
                return self._detail_redirect(adjustment)
        return self._render(
            request, "admin/rewards/adjustment/outcome.html", adjustment,
            _("Outcome of adjustment #%(pk)s") % {"pk": adjustment.pk},
            form=form, evidence=adjustment_outcome_evidence(adjustment=adjustment),
            user_actions=adjustment_actions(adjustment=adjustment, user=user),
        )

    def _comment_action(self, request, adjustment, *, act, template, title, done, **context):
        """A confirmation page with an optional comment: GET shows it, POST calls `act`.
        `done` gives the message for the result, text or (text, level)."""
        form = AdjustmentCommentForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                adjustment = act(comment=form.cleaned_data["comment"], ip_address=client_ip(request))
            except AdjustmentError as exc:
                form.add_error(None, str(exc))
                adjustment.refresh_from_db()
            else:
                message = done(adjustment)
                text, level = message if isinstance(message, tuple) else (message, messages.SUCCESS)
                self.message_user(request, text, level)
                return self._detail_redirect(adjustment)
        return self._render(
            request, template, adjustment, title,
            form=form, user_actions=adjustment_actions(adjustment=adjustment, user=request.user),
            **context,
        )

    # --- finance ------------------------------------------------------------------------

    def export_rows(self, queryset):
        return adjustment_csv_rows(queryset=queryset)
