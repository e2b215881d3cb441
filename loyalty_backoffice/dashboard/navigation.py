"""The admin's sidebar: one entry per list a role works with, each shown only to those who
may open it (the same permission the list itself checks)."""

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _


def allowed(*permissions: str) -> Callable[[HttpRequest], bool]:
    """A sidebar permission callback: true when the user holds every one of `permissions`."""

    def check(request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perms(permissions)

    check.__name__ = f"allowed_{'_'.join(p.replace('.', '_') for p in permissions)}"
    return check


def _item(title, icon: str, url_name: str, permission: str, query: str = "") -> dict:
    link = format_lazy("{}{}", reverse_lazy(url_name), query) if query else reverse_lazy(url_name)
    return {
        "title": title,
        "icon": icon,
        "link": link,
        "permission": allowed(permission),
    }


def sidebar_navigation() -> list[dict]:
    """Groups in the order a working day goes: what needs doing, members, money, control."""
    return [
        {
            "title": _("Operations"),
            "separator": False,
            "items": [
                {"title": _("Home"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
                _item(_("Waiting for my approval"), "approval", "admin:rewards_adjustment_changelist",
                      "rewards.approve_adjustment", "?queue=mine"),
                _item(_("Delivery inbox"), "inbox", "admin:webhooks_delivery_changelist",
                      "webhooks.view_delivery"),
            ],
        },
        {
            "title": _("Members"),
            "separator": True,
            "items": [
                _item(_("Members"), "group", "admin:accounts_member_changelist", "accounts.view_member"),
                _item(_("Cards"), "credit_card", "admin:accounts_card_changelist", "accounts.view_card"),
                _item(_("Reward accounts"), "account_balance_wallet",
                      "admin:accounts_rewardaccount_changelist", "accounts.view_rewardaccount"),
                _item(_("Balance checks at Pomelo"), "fact_check",
                      "admin:accounts_balancesnapshot_changelist", "accounts.view_balancesnapshot"),
            ],
        },
        {
            "title": _("Rewards and adjustments"),
            "separator": True,
            "items": [
                _item(_("Credit and debit requests"), "swap_vert",
                      "admin:rewards_adjustment_changelist", "rewards.view_adjustment"),
                _item(_("Approvals"), "task_alt", "admin:rewards_approval_changelist",
                      "rewards.view_approval"),
                _item(_("Rewards"), "redeem", "admin:rewards_rewardevent_changelist",
                      "rewards.view_rewardevent"),
                _item(_("Ledger"), "receipt_long", "admin:rewards_ledgerentry_changelist",
                      "rewards.view_ledgerentry"),
            ],
        },
        {
            "title": _("Control"),
            "separator": True,
            "items": [
                _item(_("Audit trail"), "history", "admin:rewards_auditentry_changelist",
                      "rewards.view_auditentry"),
                _item(_("Reconciliation runs"), "balance", "admin:rewards_reconciliationrun_changelist",
                      "rewards.view_reconciliationrun"),
                _item(_("Accounts drifting"), "warning", "admin:rewards_reconciliationresult_changelist",
                      "rewards.view_reconciliationresult"),
            ],
        },
        {
            "title": _("Staff"),
            "separator": True,
            "items": [
                _item(_("Staff accounts"), "badge", "admin:auth_user_changelist", "auth.view_user"),
                _item(_("Sign-in lockouts"), "lock", "admin:axes_accessattempt_changelist",
                      "axes.view_accessattempt"),
                _item(_("Sign-in log"), "login", "admin:axes_accesslog_changelist", "axes.view_accesslog"),
            ],
        },
    ]
