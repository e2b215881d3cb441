"""Writes to members, cards and reward accounts. Callers own the surrounding transaction."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts.models import BalanceSnapshot, Card, Member, RewardAccount
from pomelo import PomeloClient, PomeloError, balances_from_payload
from rewards.audit import audit_record
from rewards.models import AuditEntry


class UnknownAccountType(ValueError):
    pass


def account_type_validate(*, account_type: str) -> str:
    normalized = (account_type or "").strip().lower()
    if normalized not in settings.POMELO_ACCOUNT_TYPES:
        allowed = ", ".join(settings.POMELO_ACCOUNT_TYPES)
        raise UnknownAccountType(f"unknown account type {account_type!r}; expected one of {allowed}")
    return normalized


# These run inside the caller's transaction (webhook intake, adjustments) without savepoints of
# their own: get_or_create already guards its INSERT with one, and every extra savepoint is two
# more round trips on the busiest path we have.


@transaction.atomic(savepoint=False)
def member_get_or_create(*, pomelo_user_id: str) -> Member:
    # get_or_create retries the read after an IntegrityError, so two deliveries creating the
    # same member at once both end up with the one row the unique constraint allowed.
    member, _ = Member.objects.get_or_create(pomelo_user_id=pomelo_user_id)
    return member


@transaction.atomic(savepoint=False)
def card_get_or_create(*, member: Member, pomelo_card_id: str, last_four: str = "") -> Card:
    card, created = Card.objects.get_or_create(
        pomelo_card_id=pomelo_card_id, defaults={"member": member, "last_four": last_four}
    )
    if not created and last_four and not card.last_four:
        Card.objects.filter(pk=card.pk, last_four="").update(last_four=last_four)
        card.last_four = last_four
    return card


@transaction.atomic(savepoint=False)
def reward_account_lock(*, member: Member, account_type: str) -> RewardAccount:
    """The member's account of this type, created if needed, locked until the caller commits."""
    account_type = account_type_validate(account_type=account_type)
    account, _ = RewardAccount.objects.select_for_update().get_or_create(
        member=member, account_type=account_type
    )
    return account


def member_balance_check(
    *,
    member: Member,
    actor: AbstractBaseUser | None,
    card: Card | None = None,
    ip_address: str | None = None,
    client: PomeloClient | None = None,
) -> BalanceSnapshot:
    """Ask Pomelo for the member's balances (by user id, or by one of their cards), and keep
    what it said beside our ledger's balances. Pomelo's errors are kept on the snapshot too.
    `actor` None: the system asked (e.g. for an adjustment whose outcome is unknown)."""
    if card is not None and card.member_id != member.pk:
        raise ValueError(f"card {card.pomelo_card_id} does not belong to this member")
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
    with transaction.atomic():
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


@transaction.atomic
def member_profile_update(*, member: Member, name: str, email: str) -> Member:
    member.name, member.email = name.strip(), email.strip().lower()
    member.full_clean(exclude=["pomelo_user_id"])
    member.save(update_fields=["name", "email", "updated_at"])
    return member
