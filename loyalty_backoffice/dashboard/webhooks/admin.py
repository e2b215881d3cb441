import hashlib
import json

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from kernel import permissions as perms
from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.toolkit.display import amount
from loyalty_backoffice.dashboard.toolkit.filters import date_range_filter
from loyalty_backoffice.dashboard.toolkit.list_guard import ascii_number
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from webhooks.inbox import inbox_lag
from webhooks.models import Delivery
from webhooks.payload import notification_glance
from webhooks.services import delivery_reprocess

# Bodies are at most POMELO_WEBHOOK_MAX_BODY_BYTES; the page shows this much of one.
BODY_SHOWN_BYTES = 64 * 1024
# The list reads member, transaction and amount from bodies up to this size.
BODY_FIELDS_MAX_BYTES = 8 * 1024


def bytes_readable(raw: bytes) -> str:
    """Bytes as text a person can read and copy: UTF-8 where it is valid, `\\xNN` for every
    other byte, and escapes for control characters other than newlines and tabs (a NUL byte
    reads as \\x00). The result is plain text: templates escape it for HTML."""
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(
        ch if ch.isprintable() or ch in "\n\t" else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


class HttpStatusFilter(admin.SimpleListFilter):
    """The statuses the intake answers with (see the webhook contract), without a DISTINCT
    scan of the inbox on every page. Same parameter as Django's field filter."""

    title = _("HTTP status")
    parameter_name = "http_status__exact"
    STATUSES = [
        (200, _("200 received, duplicate or key reused")),
        (400, _("400 invalid payload (before signed bodies were kept)")),
        (401, _("401 invalid signature")),
        (403, _("403 forbidden address")),
        (405, _("405 method not allowed")),
        (411, _("411 length required")),
        (413, _("413 payload too large")),
        (500, _("500 failed")),
    ]

    def lookups(self, request, model_admin):
        return [(str(code), label) for code, label in self.STATUSES]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        status = ascii_number(value, max_digits=3)
        if status is None:
            raise IncorrectLookupParameters(
                gettext("HTTP status %(value)r is not a status code") % {"value": value})
        return queryset.filter(http_status=status)


class NeedsReviewFilter(admin.SimpleListFilter):
    """Deliveries a person should look at: flagged, a key reused with another body, or applied
    with a warning (a balance below zero, say)."""

    title = _("needs review")
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        return [("yes", _("Needs review")), ("no", _("Nothing to review"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(review="")
        if self.value() == "no":
            return queryset.filter(review="")
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    # What a person triages by; keys, addresses and headers are on the delivery's page, under
    # "Technical details".
    list_display = [
        "id", "received_at", "kind", "outcome_badge", "member_shown", "transaction_shown",
        "amount_shown", "review_shown",
    ]
    # No date_hierarchy (a DISTINCT scan of the inbox per page): a received-between filter.
    list_filter = [
        NeedsReviewFilter, "outcome", "kind", HttpStatusFilter,
        date_range_filter("received_at", _("received between")),
    ]
    search_fields = ["=idempotency_key", "=event_id", "=api_key"]
    paginator = EstimatedCountPaginator
    readonly_fields = [
        "kind", "endpoint", "received_at", "remote_addr", "api_key", "event_id",
        "idempotency_key", "outcome", "http_status", "review", "detail", "attempts", "retry_at",
        "processed_at",
        "headers", "body_shown",
    ]
    fieldsets = [
        (None, {"fields": ["received_at", "kind", "outcome", "review", "detail", "processed_at",
                           "attempts", "body_shown"]}),
        (_("Technical details"), {
            "classes": ["collapse"],
            "fields": ["endpoint", "http_status", "event_id", "idempotency_key", "api_key",
                       "remote_addr", "headers"],
        }),
    ]
    actions = ["reprocess"]
    show_full_result_count = False

    def changelist_view(self, request, extra_context=None):
        # The backlog above the list: two indexed aggregates, not a count of the whole inbox.
        return super().changelist_view(request, {**(extra_context or {}), "inbox_lag": inbox_lag()})

    def _fields(self, obj: Delivery) -> dict[str, str]:
        """The member, transaction and amount the body names, when it is small (a notification
        is a few hundred bytes; anything else is shown on its page)."""
        cached = getattr(obj, "_body_fields", None)
        if cached is None:
            raw = bytes(obj.body or b"")
            cached = notification_glance(raw) if len(raw) <= BODY_FIELDS_MAX_BYTES else {}
            obj._body_fields = cached
        return cached

    @admin.display(description=_("member"))
    def member_shown(self, obj: Delivery):
        user_id = self._fields(obj).get("user_id")
        if not user_id:
            return "—"
        url = reverse("admin:accounts_member_changelist")
        return format_html('<a href="{}?q={}">{}</a>', url, user_id, user_id)

    @admin.display(description=_("transaction"))
    def transaction_shown(self, obj: Delivery):
        return self._fields(obj).get("transaction_id") or "—"

    @admin.display(description=_("amount"))
    def amount_shown(self, obj: Delivery):
        fields = self._fields(obj)
        return amount(fields["amount"], fields.get("account_type", "")) if "amount" in fields else "—"

    def get_urls(self):
        return [
            path("<path:object_id>/reprocess/", self.admin_site.admin_view(self.reprocess_view),
                 name="webhooks_delivery_reprocess"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        delivery = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_reprocess": delivery is not None and self.has_reprocess_permission(request)
            and delivery.outcome in Delivery.REPROCESSABLE_OUTCOMES,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def reprocess_view(self, request, object_id):
        """From the delivery's page: GET asks to confirm, POST applies this failed or flagged
        delivery again."""
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        if not self.has_reprocess_permission(request):
            raise PermissionDenied(_("Reprocessing a delivery is for administrators."))
        delivery = self.get_object(request, unquote(object_id))
        if delivery is None:
            raise Http404(f"Delivery {object_id!r} does not exist.")
        change_url = reverse("admin:webhooks_delivery_change", args=[delivery.pk])
        if request.method == "POST":
            self._reprocess_one(request, delivery.pk)
            return HttpResponseRedirect(change_url)
        if delivery.outcome not in Delivery.REPROCESSABLE_OUTCOMES:
            self.message_user(request, _("Delivery #%(id)s is %(outcome)s: there is nothing to "
                                         "reprocess.") % {"id": delivery.pk,
                                                          "outcome": delivery.get_outcome_display()},
                              messages.WARNING)
            return HttpResponseRedirect(change_url)
        return TemplateResponse(request, "admin/auth/user/confirm_action.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": delivery,
            "title": _("Reprocess delivery #%(id)s") % {"id": delivery.pk},
            "question": _("Apply delivery #%(id)s (%(outcome)s) again from the bytes it arrived "
                          "with? Do it once its cause is fixed; it is recorded in the audit "
                          "trail.") % {"id": delivery.pk, "outcome": delivery.get_outcome_display()},
            "button": _("Yes, reprocess it"),
            "change_url": change_url,
        })

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_badge(self, obj: Delivery):
        return format_html(
            '<span class="delivery-outcome outcome-{}">{}</span>', obj.outcome, obj.get_outcome_display()
        )

    @admin.display(description=_("review"))
    def review_shown(self, obj: Delivery):
        if not obj.review:
            return ""
        shown = obj.review if len(obj.review) <= 80 else obj.review[:79] + "…"
        return format_html('<span class="delivery-review" title="{}">{}</span>', obj.review, shown)

    @admin.display(description=_("body"))
    def body_shown(self, obj: Delivery):
        raw = bytes(obj.body)
        if not raw:
            return "—"
        text = bytes_readable(raw[:BODY_SHOWN_BYTES])
        try:
            json.loads(raw)
            valid = gettext("valid JSON")
        except (ValueError, RecursionError):
            valid = gettext("not valid JSON")
        facts = gettext("%(size)s bytes, %(valid)s, SHA-256 %(sha)s") % {
            "size": len(raw), "valid": valid, "sha": hashlib.sha256(raw).hexdigest()}
        return format_html('<p class="delivery-body-facts">{}</p><pre class="delivery-body">{}</pre>',
                           facts, text)

    def has_reprocess_permission(self, request):
        return request.user.has_perm(perms.REPROCESS_DELIVERY)

    @admin.action(description=_("Reprocess selected failed or flagged deliveries"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            self._reprocess_one(request, delivery_id)

    def _reprocess_one(self, request, delivery_id: int) -> None:
        result = delivery_reprocess(
            delivery_id=delivery_id, actor=request.user, ip_address=client_ip(request)
        )
        level = {
            Delivery.Outcome.PROCESSED: messages.SUCCESS,
            Delivery.Outcome.DUPLICATE: messages.INFO,
            Delivery.Outcome.FLAGGED: messages.WARNING,
            Delivery.Outcome.KEY_REUSED: messages.WARNING,
        }.get(result.outcome, messages.ERROR)
        self.message_user(
            request, gettext("Delivery #%(pk)s: %(outcome)s — %(message)s") % {
                "pk": result.delivery_id, "outcome": result.outcome, "message": result.message}, level
        )
