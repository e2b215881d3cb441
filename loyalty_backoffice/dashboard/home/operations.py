"""The admin's home: what needs a person now, as tiles that open the filtered list, and the
last 30 days as charts. Each role sees only the tiles and charts whose lists it may open.

The figures come from rewards.operations_selectors; this module only decides who sees what and
turns the figures into words, links and Chart.js data (drawn by django-unfold's chart
component).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kernel import permissions as perms
from loyalty_backoffice.dashboard.toolkit.display import amount, local_time, unit_name
from rewards import operations_selectors as ops
from webhooks.inbox_selectors import inbox_state


@dataclass
class Tile:
    key: str
    title: str
    value: str
    href: str
    # "calm" nothing to do, "attention" someone should look, "alert" act now.
    tone: str = "calm"
    lines: list[str] = field(default_factory=list)


def _count(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def duration_text(value: timedelta | None) -> str:
    """`45 min`, `3 h 20 min`, `2 d 4 h`: the age of what waits, to the precision that matters."""
    if value is None:
        return "—"
    minutes = max(int(value.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _approvals_tile(user, now) -> Tile:
    waiting = ops.approvals_waiting(user=user, now=now)
    changelist = reverse("admin:rewards_adjustment_changelist")
    lines = [
        _("Oldest waiting: %(age)s") % {"age": duration_text(waiting.oldest_age(now=now))},
        ngettext("%(n)d runs out within a day", "%(n)d run out within a day",
                 waiting.expiring_within_a_day) % {"n": waiting.expiring_within_a_day},
    ]
    if waiting.waiting_for_user is not None:
        value, href = waiting.waiting_for_user, f"{changelist}?queue=mine"
        title = _("Waiting for my approval")
        lines.insert(0, ngettext("%(n)d waiting in all", "%(n)d waiting in all", waiting.count)
                     % {"n": waiting.count})
    else:
        value, href = waiting.count, f"{changelist}?state__exact=pending_approval"
        title = _("Requests waiting for approval")
    tone = "alert" if waiting.expiring_within_a_day and value else ("attention" if value else "calm")
    return Tile("approvals", title, _count(value), href, tone, lines)


def _adjustments_tile(now) -> Tile:
    trouble = ops.adjustments_in_trouble(now=now)
    changelist = reverse("admin:rewards_adjustment_changelist")
    href = (f"{changelist}?unsettled=any" if trouble.outcome_unknown or trouble.submitting_lease_over
            else f"{changelist}?state__exact=failed" if trouble.failed_recently
            else f"{changelist}?state__exact=approved")
    lines = [
        _("Refused by Pomelo in the last 7 days: %(n)d") % {"n": trouble.failed_recently},
        _("Outcome unknown: %(n)d") % {"n": trouble.outcome_unknown},
        _("Sending, no answer recorded: %(n)d") % {"n": trouble.submitting_lease_over},
        _("Approved, not sent: %(n)d") % {"n": trouble.approved_not_sent},
    ]
    tone = "alert" if trouble.stuck else ("attention" if trouble.failed_recently else "calm")
    return Tile("adjustments", _("Credits and debits failed or stuck"),
                _count(trouble.total), href, tone, lines)


def _deliveries_tiles(now) -> list[Tile]:
    inbox = inbox_state()
    changelist = reverse("admin:webhooks_delivery_changelist")
    failed_or_flagged = inbox.failed + inbox.flagged
    deliveries = Tile(
        "deliveries", _("Notifications failed or flagged"),
        _count(failed_or_flagged),
        f"{changelist}?outcome__exact=failed" if inbox.failed else f"{changelist}?outcome__exact=flagged",
        "alert" if inbox.failed else ("attention" if inbox.flagged else "calm"),
        [_("Failed (can be reprocessed): %(n)d") % {"n": inbox.failed},
         _("Flagged for review, no money moved: %(n)d") % {"n": inbox.flagged}],
    )
    lag = inbox.lag(now=now)
    lag_tile = Tile(
        "inbox_lag", _("Inbox lag"),
        duration_text(lag) if lag is not None else _("Nothing waiting"),
        f"{changelist}?outcome__exact=received",
        "alert" if lag is not None and lag > timedelta(minutes=5) else "calm",
        [ngettext("%(n)d notification not yet processed", "%(n)d notifications not yet processed",
                  inbox.waiting) % {"n": inbox.waiting},
         _("Last received: %(when)s") % {"when": local_time(inbox.last_received_at)}],
    )
    return [deliveries, lag_tile]


def _reconciliation_tile() -> Tile:
    state = ops.reconciliation_state()
    run = state.last_finished
    if run is None:
        href = reverse("admin:rewards_reconciliationrun_changelist")
        lines = [_("No reconciliation has finished yet.")]
        value, tone = "—", "calm"
    else:
        href = reverse("admin:rewards_reconciliationrun_change", args=[run.pk])
        lines = [
            _("Last run: %(when)s") % {"when": local_time(run.finished_at or run.started_at)},
            _("Members checked: %(n)s") % {"n": _count(run.members_checked)},
        ]
        if run.errors:
            lines.append(_("Balances Pomelo did not return: %(n)d") % {"n": run.errors})
        value = _count(run.accounts_drifting)
        tone = "alert" if run.accounts_drifting else ("attention" if run.errors else "calm")
    if state.running is not None:
        lines.append(_("A run is under way since %(when)s") % {"when": local_time(state.running.started_at)})
    return Tile("drift", _("Accounts drifting at the last reconciliation"), value, href, tone, lines)


def operations_tiles(request: HttpRequest) -> list[Tile]:
    """The tiles the user may open, in the order a shift works through them."""
    user, now = request.user, timezone.now()
    tiles = []
    if user.has_perm(perms.VIEW_ADJUSTMENT):
        tiles.append(_approvals_tile(user, now))
        tiles.append(_adjustments_tile(now))
    if user.has_perm(perms.VIEW_DELIVERY):
        tiles.extend(_deliveries_tiles(now))
    if user.has_perm(perms.VIEW_RECONCILIATION_RUN):
        tiles.append(_reconciliation_tile())
    return tiles


# Unfold's palette (CSS variables of the theme), so charts follow light and dark mode.
_PENDING, _CONFIRMED, _CANCELLED = "var(--color-base-400)", "var(--color-primary-600)", "#dc2626"
_CREDIT, _DEBIT = "var(--color-primary-500)", "#f59e0b"


def _chart(labels: list[str], datasets: list[dict]) -> str:
    return json.dumps({"labels": labels, "datasets": datasets}, default=str)


def operations_chart_sections(request: HttpRequest) -> list[dict]:
    """Per account type, the charts the user may read: rewards (whoever sees rewards), credits
    and debits and the approval turnaround (whoever sees adjustments)."""
    user = request.user
    show_rewards = user.has_perm(perms.VIEW_REWARD_EVENT)
    show_adjustments = user.has_perm(perms.VIEW_ADJUSTMENT)
    if not (show_rewards or show_adjustments):
        return []
    charts = ops.operations_charts()
    labels = [formats.date_format(day, "m-d") for day in charts.days]
    sections = []
    for series in charts.series:
        unit = unit_name(series.account_type)
        section = {"account_type": series.account_type, "unit": unit, "charts": []}
        if show_rewards:
            section["charts"].append({
                "key": "rewards",
                "title": _("Rewards per day"),
                "summary": _("%(pending)d pending, %(confirmed)d confirmed, %(cancelled)d cancelled") % {
                    "pending": sum(series.rewards_pending), "confirmed": sum(series.rewards_confirmed),
                    "cancelled": sum(series.rewards_cancelled)},
                "data": _chart(labels, [
                    {"label": _("Pending"), "data": series.rewards_pending,
                     "backgroundColor": _PENDING},
                    {"label": _("Confirmed"), "data": series.rewards_confirmed,
                     "backgroundColor": _CONFIRMED},
                    {"label": _("Cancelled"), "data": series.rewards_cancelled,
                     "backgroundColor": _CANCELLED},
                ]),
            })
        if show_adjustments:
            credits, debits = sum(series.credits, Decimal(0)), sum(series.debits, Decimal(0))
            section["charts"].append({
                "key": "adjustments",
                "title": _("Manual credits and debits per day"),
                "summary": _("%(credits)s credited, %(debits)s debited") % {
                    "credits": amount(credits, series.account_type),
                    "debits": amount(debits, series.account_type)},
                "data": _chart(labels, [
                    {"label": _("Credits"), "data": [float(v) for v in series.credits],
                     "backgroundColor": _CREDIT, "suffixYAxis": unit},
                    {"label": _("Debits"), "data": [float(v) for v in series.debits],
                     "backgroundColor": _DEBIT},
                ]),
            })
            known = [h for h in series.approval_hours if h is not None]
            section["charts"].append({
                "key": "turnaround",
                "title": _("Approval turnaround (hours, mean per day)"),
                "summary": (_("Mean over the period: %(hours)s h") % {
                    "hours": formats.number_format(sum(known) / len(known), 1)}) if known
                else _("No request approved in the period"),
                "data": _chart(labels, [
                    {"label": _("Hours to approval"), "data": series.approval_hours,
                     "borderColor": _CONFIRMED, "backgroundColor": _CONFIRMED, "spanGaps": True,
                     "displayYAxis": True},
                ]),
                "type": "line",
            })
        sections.append(section)
    return sections


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    """UNFOLD["DASHBOARD_CALLBACK"]: the home's tiles and charts for this user."""
    context.update({
        "operations_tiles": operations_tiles(request),
        "operations_charts": operations_chart_sections(request),
        "time_zone_name": timezone.get_current_timezone_name(),
    })
    return context
