"""Writes to members, cards and reward accounts. Callers own the surrounding transaction."""

from django.conf import settings
from django.db import transaction

from accounts.models import Card, Member, RewardAccount


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


@transaction.atomic
def member_profile_update(*, member: Member, name: str, email: str) -> Member:
    member.name, member.email = name.strip(), email.strip().lower()
    member.full_clean(exclude=["pomelo_user_id"])
    member.save(update_fields=["name", "email", "updated_at"])
    return member
