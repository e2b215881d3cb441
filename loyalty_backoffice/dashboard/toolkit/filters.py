"""List filters of the adjustment and audit lists."""

from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kernel import permissions as perms
from kernel.account_types import account_type_name
from loyalty_backoffice.dashboard.toolkit.list_guard import ascii_number
from rewards.models import Adjustment, Approval
from rewards.selectors import adjustments_unsettled, adjustments_waiting_for


class WaitingForMyApprovalFilter(admin.SimpleListFilter):
    """The approver's queue: pending, not made by me, not yet approved by me (oldest first,
    see AdjustmentAdmin.get_ordering)."""

    title = _("approver queue")
    parameter_name = "queue"
    MINE = "mine"

    def lookups(self, request, model_admin):
        if request.user.has_perm(perms.APPROVE_ADJUSTMENT):
            return [(self.MINE, _("Waiting for my approval"))]
        return []

    def queryset(self, request, queryset):
        if self.value() == self.MINE:
            return adjustments_waiting_for(user=request.user, queryset=queryset)
        return queryset


class MadeByMeFilter(admin.SimpleListFilter):
    """"My requests": what the signed-in user asked for (adjustments and bulk batches, both of
    which name their `maker`)."""

    title = _("my requests")
    parameter_name = "made_by"
    ME = "me"

    def lookups(self, request, model_admin):
        return [(self.ME, _("Made by me"))]

    def queryset(self, request, queryset):
        if self.value() == self.ME:
            return queryset.filter(maker=request.user)
        return queryset


class SubmissionAttentionFilter(admin.SimpleListFilter):
    """Submissions whose outcome is not recorded: their lease ran out (the worker died, or the
    attempt failed and waits to be resumed), or their outcome is unknown and an approver must
    decide."""

    title = _("outcome not recorded")
    parameter_name = "unsettled"
    LEASE_OVER = "lease_over"
    ANY = "any"

    def lookups(self, request, model_admin):
        return [(self.ANY, _("Any (lease over or outcome unknown)")),
                (self.LEASE_OVER, _("Submitting, lease over"))]

    def queryset(self, request, queryset):
        unsettled = adjustments_unsettled().values("pk")
        if self.value() == self.ANY:
            return queryset.filter(pk__in=unsettled)
        if self.value() == self.LEASE_OVER:
            return queryset.filter(pk__in=unsettled, state=Adjustment.State.SUBMITTING)
        return queryset


class AccountTypeFilter(admin.SimpleListFilter):
    """The configured account types, without a DISTINCT scan of the table."""

    title = _("account type")
    parameter_name = "account_type"
    field_path = "account_type"

    def lookups(self, request, model_admin):
        return [(t, account_type_name(t)) for t in settings.POMELO_ACCOUNT_TYPES]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field_path: self.value()})
        return queryset


def account_type_filter(field_path: str) -> type[AccountTypeFilter]:
    """An AccountTypeFilter on `field_path` (e.g. "account__account_type").

    Django's filter for a plain field lists its values with SELECT DISTINCT over the whole
    table (or a join) on every page: over a million reward events or ledger entries that is
    most of the page's time."""
    return type(f"AccountTypeFilter_{field_path}", (AccountTypeFilter,), {"field_path": field_path})


class ApproverFilter(admin.SimpleListFilter):
    """Adjustments a given person approved (one of their approvals, whatever the outcome)."""

    title = _("approver")
    parameter_name = "approver"

    def lookups(self, request, model_admin):
        users = (
            get_user_model().objects.filter(pk__in=Approval.objects.values("approver_id"))
            .order_by("username")
        )
        return [(str(user.pk), user.get_username()) for user in users]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        user_id = ascii_number(value)
        if user_id is None:
            raise IncorrectLookupParameters(
                gettext("approver %(value)r is not a user id") % {"value": value})
        approved = Approval.objects.filter(adjustment=OuterRef("pk"), approver_id=user_id)
        return queryset.filter(Exists(approved))


class DateRangeFilter(admin.ListFilter):
    """From and to dates (both included) on a datetime field, as a small GET form.

    Subclass it with `field_name`; the parameters are `<field>_from` and `<field>_to`.
    """

    template = "admin/rewards/date_range_filter.html"
    field_name = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.parameter_from = f"{self.field_name}_from"
        self.parameter_to = f"{self.field_name}_to"
        for name in (self.parameter_from, self.parameter_to):
            if name in params:
                value = params.pop(name)
                self.used_parameters[name] = (value[-1] if isinstance(value, list) else value).strip()

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.parameter_from, self.parameter_to]

    def _date(self, name: str) -> date | None:
        value = self.used_parameters.get(name)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise IncorrectLookupParameters(
                gettext("%(value)r is not a date (YYYY-MM-DD)") % {"value": value}) from None

    @staticmethod
    def _start_of(day: date, *, days_later: int = 0) -> datetime | None:
        """Midnight of `day` (plus `days_later`) in the current time zone, or None where that
        is beyond what a datetime can hold in UTC (before year 1, after 9999): no bound."""
        try:
            start = timezone.make_aware(datetime.combine(day + timedelta(days=days_later), time.min))
            start.astimezone(UTC)
        except OverflowError:
            return None
        return start

    def queryset(self, request, queryset):
        start, end = self._date(self.parameter_from), self._date(self.parameter_to)
        if start and end and start > end:
            raise IncorrectLookupParameters(
                gettext("%(start)s is after %(end)s") % {"start": start, "end": end})
        # Bounds as datetimes in the current time zone, so the index on the field is usable.
        lower = self._start_of(start) if start else None
        upper = self._start_of(end, days_later=1) if end else None
        if lower:
            queryset = queryset.filter(**{f"{self.field_name}__gte": lower})
        if upper:
            queryset = queryset.filter(**{f"{self.field_name}__lt": upper})
        return queryset

    def choices(self, changelist):
        # Keep the other filters, the search and the ordering when the dates are submitted.
        hidden = [
            (key, value)
            for key, values in changelist.filter_params.items()
            if key not in self.expected_parameters()
            for value in values
        ]
        yield {
            "parameter_from": self.parameter_from,
            "parameter_to": self.parameter_to,
            "value_from": self.used_parameters.get(self.parameter_from, ""),
            "value_to": self.used_parameters.get(self.parameter_to, ""),
            "hidden": hidden,
            "active": bool(self.used_parameters),
            "clear_url": changelist.get_query_string(remove=self.expected_parameters()),
        }


class CreatedBetweenFilter(DateRangeFilter):
    title = _("created between")
    field_name = "created_at"


def date_range_filter(field_name: str, title: str) -> type[DateRangeFilter]:
    """A DateRangeFilter on `field_name`: what the big lists offer instead of date_hierarchy,
    whose year and month links cost a DISTINCT scan of the whole (filtered) table per page."""
    attributes = {"field_name": field_name, "title": title}
    return type(f"DateRangeFilter_{field_name}", (DateRangeFilter,), attributes)
