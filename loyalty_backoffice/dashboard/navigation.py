"""The admin's sidebar: one entry per list a role works with, each shown only to those who
may open it (the same permission the list itself checks)."""

from collections.abc import Callable

from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kernel import permissions as perms


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
                      perms.APPROVE_ADJUSTMENT, "?queue=mine"),
                _item(_("My requests"), "person_check", "admin:rewards_adjustment_changelist",
                      perms.ADD_ADJUSTMENT, "?made_by=me"),
                _item(_("My bulk batches"), "upload_file", "admin:bulk_adjustments_bulkbatch_changelist",
                      perms.ADD_BULK_BATCH, "?made_by=me"),
                _item(_("Delivery inbox"), "inbox", "admin:webhooks_delivery_changelist",
                      perms.VIEW_DELIVERY),
            ],
        },
        {
            "title": _("Members"),
            "separator": True,
            "items": [
                _item(_("Members"), "group", "admin:accounts_member_changelist", perms.VIEW_MEMBER),
                _item(_("Cards"), "credit_card", "admin:accounts_card_changelist", perms.VIEW_CARD),
                _item(_("Reward accounts"), "account_balance_wallet",
                      "admin:accounts_rewardaccount_changelist", perms.VIEW_REWARD_ACCOUNT),
                _item(_("Balance checks at Pomelo"), "fact_check",
                      "admin:accounts_balancesnapshot_changelist", perms.VIEW_BALANCE_SNAPSHOT),
            ],
        },
        {
            "title": _("Rewards and adjustments"),
            "separator": True,
            "items": [
                _item(_("Credit and debit requests"), "swap_vert",
                      "admin:rewards_adjustment_changelist", perms.VIEW_ADJUSTMENT),
                _item(_("Approvals"), "task_alt", "admin:rewards_approval_changelist",
                      perms.VIEW_APPROVAL),
                _item(_("Rewards"), "redeem", "admin:rewards_rewardevent_changelist",
                      perms.VIEW_REWARD_EVENT),
                _item(_("Ledger"), "receipt_long", "admin:rewards_ledgerentry_changelist",
                      perms.VIEW_LEDGER_ENTRY),
                _item(_("Bulk credits and debits"), "upload_file",
                      "admin:bulk_adjustments_bulkbatch_changelist", perms.VIEW_BULK_BATCH),
            ],
        },
        {
            "title": _("Control"),
            "separator": True,
            "items": [
                _item(_("Audit trail"), "history", "admin:rewards_auditentry_changelist",
                      perms.VIEW_AUDIT_ENTRY),
                _item(_("Reconciliation runs"), "balance", "admin:rewards_reconciliationrun_changelist",
                      perms.VIEW_RECONCILIATION_RUN),
                _item(_("Accounts drifting"), "warning", "admin:rewards_reconciliationresult_changelist",
                      perms.VIEW_RECONCILIATION_RESULT),
                _item(_("Chain verifications"), "verified", "admin:rewards_chainverification_changelist",
                      perms.VIEW_CHAIN_VERIFICATION),
                _item(_("Chain anchors"), "anchor", "admin:rewards_chainanchor_changelist",
                      perms.VIEW_CHAIN_ANCHOR),
            ],
        },
        {
            "title": _("Staff"),
            "separator": True,
            "items": [
                _item(_("Staff accounts"), "badge", "admin:auth_user_changelist", perms.VIEW_USER),
                _item(_("Roles"), "groups", "admin:auth_group_changelist", perms.VIEW_GROUP),
                _item(_("Sign-in lockouts"), "lock", "admin:axes_accessattempt_changelist",
                      perms.VIEW_ACCESS_ATTEMPT),
                _item(_("Sign-in log"), "login", "admin:axes_accesslog_changelist", perms.VIEW_ACCESS_LOG),
            ],
        },
    ]
