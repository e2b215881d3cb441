"""The balance check: ask Pomelo what a member has, and keep it beside what our ledger says.

It lives with the other reads and writes of balances; the snapshot it keeps is an accounts
model, its audit entry a rewards one.
"""

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext

from accounts.models import BalanceSnapshot, Card, Member
from kernel.errors import BackofficeError
from kernel.transactions import outside_transaction
from pomelo import PomeloClient, PomeloError, balances_from_payload
from rewards.audit import audit_record
from rewards.models import AuditEntry


def member_balance_check(
    *,
    member: Member,
    actor: User | None,
    card: Card | None = None,
    ip_address: str | None = None,
    client: PomeloClient | None = None,
) -> BalanceSnapshot:
    """Ask Pomelo for the member's balances (by user id, or by one of their cards), and keep
    what it said beside our ledger's balances. Pomelo's errors are kept on the snapshot too.
    `actor` None: the system asked (e.g. for an adjustment whose outcome is unknown)."""
    if card is not None and card.member_id != member.pk:
        raise BackofficeError(gettext("card %(pomelo_card_id)s does not belong to this member") % {
            "pomelo_card_id": card.pomelo_card_id,
        })
    outside_transaction()  # Pomelo is asked with no transaction open
    client = client or PomeloClient.from_settings()
    snapshot = BalanceSnapshot(member=member, card=card, requested_by=actor)
    try:
        if card is not None:
            response = client.balance(card_id=card.pomelo_card_id)
        else:
            response = client.balance(user_id=member.pomelo_user_id)
    except PomeloError as exc:
        snapshot.status_code, snapshot.raw_response = exc.status_code, exc.raw_body or ""
        snapshot.error = exc.message
    else:
        snapshot.status_code, snapshot.raw_response = response.status_code, response.raw_body
        found = balances_from_payload(response.data, account_types=settings.POMELO_ACCOUNT_TYPES)
        snapshot.balances = {k: str(v) for k, v in sorted(found.items())}
        if not found:
            snapshot.error = "Pomelo answered without a balance we could read; see the raw response."
    with transaction.atomic(durable=True):
        snapshot.ledger_balances = {
            a.account_type: str(a.available_balance) for a in member.reward_accounts.all()
        }
        snapshot.save()
        audit_record(
            action=AuditEntry.Action.BALANCE_CHECKED, actor=actor, ip_address=ip_address,
            member=member,
            data={"snapshot": snapshot.pk, "by": "card" if card else "user",
                  "pomelo": snapshot.balances, "ledger": snapshot.ledger_balances,
                  "error": snapshot.error},
        )
    return snapshot
