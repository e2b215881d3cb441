"""Work for every role on the demo's home: credits and debits in each state, a failed and a
flagged notification, and a reconciliation that finds a drift.

Everything goes through the services and the webhook intake staff and Pomelo would use; the
stand-in Pomelo is told, through its control endpoints, to disagree where the story needs it.
Each part is skipped when its work is already there, so loading twice adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import requests
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from accounts.models import Card, Member, RewardAccount
from rewards.models import Adjustment, ReconciliationRun
from rewards.policies import idempotency_window, submission_lease
from rewards.services.adjustments import (
    adjustment_approve,
    adjustment_cancel,
    adjustment_expire_overdue,
    adjustment_reject,
    adjustment_request,
    adjustment_submit,
)
from rewards.services.reconciliation import reconciliation_run
from sandbox.notification_sender import NotificationSender
from webhooks.models import Delivery

CREDIT, DEBIT = Adjustment.Direction.CREDIT, Adjustment.Direction.DEBIT
# The demo's own notifications carry keys with this prefix, so a second load finds them.
KEY_PREFIX = "demo-"
# Under the limit of one notification's amount, but no balance column can add it to another.
OVERFLOWING_AMOUNT = "9999999999999999.99"


@dataclass
class ScenarioReport:
    adjustments: dict[str, str] = field(default_factory=dict)  # what each one shows → its state
    deliveries: dict[str, str] = field(default_factory=dict)  # what each one shows → outcome
    drifting: int | None = None  # accounts drifting at the demo's reconciliation run


def _control(pomelo_url: str, path: str, payload: dict) -> None:
    response = requests.post(f"{pomelo_url}/_sandbox/{path}", json=payload, timeout=10)
    response.raise_for_status()


def _members_with_cards() -> list[Member]:
    return list(Member.objects.filter(cards__isnull=False).distinct().order_by("pomelo_user_id"))


def _card(member: Member) -> Card:
    card = member.cards.order_by("pomelo_card_id").first()
    assert card is not None  # chosen among members with a card
    return card


def _adjustments_load(*, staff: dict[str, User], pomelo_url: str, report: ScenarioReport) -> None:
    members = _members_with_cards()
    if len(members) < 2:
        return
    agent, approver, approver2 = staff["agent"], staff["approver"], staff["approver2"]

    def request(member: Member, account_type: str, direction: str, amount: str, reason_code: str,
                reason_text: str) -> Adjustment:
        return adjustment_request(
            maker=agent, member=member, card=_card(member), account_type=account_type,
            direction=direction, amount=Decimal(amount), reason_code=reason_code,
            reason_text=reason_text,
        )

    def approve(adjustment: Adjustment, by: User, comment: str) -> None:
        # The demo sends it itself, so the outcome is there when the load ends.
        adjustment_approve(adjustment_id=adjustment.pk, approver=by, comment=comment,
                           enqueue_submission=False)

    first, second = members[0], members[1]
    third, fourth = members[2 % len(members)], members[3 % len(members)]

    # First, before any other request waits: the expiry sweep, run at this request's deadline,
    # would expire every request made before it.
    expired = request(first, "cashback", CREDIT, "15.00", "goodwill",
                      "Late delivery of the replacement card; nobody reviewed it in time.")
    adjustment_expire_overdue(now=expired.expires_at)
    report.adjustments["expired"] = Adjustment.State.EXPIRED

    request(first, "points", CREDIT, "250.00", "goodwill",
            "Member called about a purchase at a partner store that earned no points.")
    report.adjustments["pending approval"] = Adjustment.State.PENDING_APPROVAL

    # Above the threshold for a second approval: one approver said yes, the other has not yet.
    partly = request(second, "miles", CREDIT, "15000.00", "migration",
                     "Miles carried over from the member's account in the previous program.")
    approve(partly, approver, "Matches the statement of the previous program.")
    report.adjustments["one of two approvals given"] = Adjustment.State.PENDING_APPROVAL

    waiting = request(third, "cashback", CREDIT, "20.00", "correction",
                      "Cashback of a refunded purchase was reversed twice.")
    approve(waiting, approver, "Checked the two reversals on the card's statement.")
    report.adjustments["approved, not sent yet"] = Adjustment.State.APPROVED

    done = request(fourth, "points", CREDIT, "500.00", "dispute",
                   "Dispute won: the points of the disputed purchase are given back.")
    approve(done, approver, "Dispute resolution attached to the ticket.")
    adjustment_submit(adjustment_id=done.pk)
    report.adjustments["succeeded"] = Adjustment.State.SUCCEEDED

    rejected = request(second, "points", CREDIT, "3000.00", "other",
                       "Member asks for a welcome bonus.")
    adjustment_reject(adjustment_id=rejected.pk, approver=approver,
                      comment="The welcome bonus is credited automatically; nothing to add.")
    report.adjustments["rejected"] = Adjustment.State.REJECTED

    cancelled = request(third, "miles", CREDIT, "1200.00", "goodwill",
                        "Flight delay compensation.")
    adjustment_cancel(adjustment_id=cancelled.pk, maker=agent,
                      comment="Wrong member: the compensation belongs to the travel companion.")
    report.adjustments["cancelled"] = Adjustment.State.CANCELLED

    # Not `second`, whose credit of unknown outcome makes a drift of its own below.
    _refused_by_pomelo(request=request, approve=approve, pomelo_url=pomelo_url, report=report,
                       approver=approver, exclude=second)

    # Sent long enough ago that the idempotency window has passed, and the answer was lost
    # after Pomelo applied it: an approver checks the balance at Pomelo and settles it.
    unknown = request(second, "points", CREDIT, "750.00", "correction",
                      "Points of a purchase that was posted without its reward.")
    approve(unknown, approver2, "Reward missing on the statement.")
    _control(pomelo_url, "faults", {"drop_after_apply_next": 1})
    sent_at = timezone.now() - idempotency_window() - submission_lease()
    adjustment_submit(adjustment_id=unknown.pk, now=sent_at)
    adjustment_submit(adjustment_id=unknown.pk)  # the watchdog's look after the lease
    report.adjustments["outcome unknown"] = Adjustment.State.OUTCOME_UNKNOWN


def _refused_by_pomelo(*, request, approve, pomelo_url: str, report: ScenarioReport,
                       approver: User, exclude: Member) -> None:
    """Pomelo holds less than our ledger for one member (rewards reversed at Pomelo that no
    notification told us about): a debit our ledger allows is refused there, and the
    reconciliation shows the difference."""
    account = (RewardAccount.objects.filter(account_type="points", available_balance__gt=0,
                                            member__cards__isnull=False)
               .exclude(member=exclude).select_related("member").order_by("-available_balance", "pk").first())
    if account is None:
        return
    balance = account.available_balance
    _control(pomelo_url, "rewards", {"user_id": account.member.pomelo_user_id,
                                     "account_type": "points", "amount": str(-balance)})
    debit = request(account.member, "points", DEBIT, str(min(balance, Decimal("800.00"))),
                    "fraud", "Points earned on a purchase the issuer charged back as fraud.")
    approve(debit, approver, "Chargeback confirmed by the fraud team.")
    adjustment_submit(adjustment_id=debit.pk)
    report.adjustments["refused by Pomelo"] = Adjustment.State.FAILED


def _notification(member: Member, card: Card, key: str, amount: str) -> dict:
    return {
        "event_id": "loyalty-pending", "idempotency_key": f"{KEY_PREFIX}{key}",
        "user_id": member.pomelo_user_id, "card_id": card.pomelo_card_id,
        "card_last_four": card.last_four, "transaction_id": f"{KEY_PREFIX}{key}",
        "account_type": "points", "amount": amount,
        "created_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }


def _deliveries_load(*, sender: NotificationSender, report: ScenarioReport) -> None:
    members = _members_with_cards()
    if len(members) < 2:
        return
    owner, other = members[-1], members[-2]
    # Signed and well formed, but for a card Pomelo gave to another member: the ledger cannot
    # tell whose reward it is, so it is kept for review and no money moves.
    sender.send("pending", _notification(owner, _card(other), "card-of-another-member", "42.00"))
    report.deliveries["flagged"] = Delivery.Outcome.FLAGGED
    # A pending reward, then one no balance column can add to it: applying it fails. The demo
    # has no inbox worker to retry it for minutes: its first attempt is its last.
    sender.send("pending", _notification(owner, _card(owner), "pending-reward", "12.00"))
    with override_settings(WEBHOOK_APPLY_MAX_ATTEMPTS=1):
        sender.send("pending", _notification(owner, _card(owner), "overflowing-reward",
                                             OVERFLOWING_AMOUNT))
    report.deliveries["failed"] = Delivery.Outcome.FAILED


def demo_scenarios_load(
    *, staff: dict[str, User], backoffice_url: str, pomelo_url: str, api_key: str,
    secret_b64: str,
) -> ScenarioReport:
    """Add what each role's home offers to act on, unless it is already there."""
    report = ScenarioReport()
    if not Adjustment.objects.exists():
        _adjustments_load(staff=staff, pomelo_url=pomelo_url, report=report)
    if not Delivery.objects.filter(idempotency_key__startswith=KEY_PREFIX).exists():
        sender = NotificationSender(base_url=backoffice_url, api_key=api_key, secret_b64=secret_b64)
        try:
            _deliveries_load(sender=sender, report=report)
        finally:
            sender.close()
    if not ReconciliationRun.objects.exists():
        run = reconciliation_run(concurrency=2)
        report.drifting = run.accounts_drifting
    return report

