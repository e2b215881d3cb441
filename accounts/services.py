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


@transaction.atomic
def member_get_or_create(*, pomelo_user_id: str) -> Member:
    # get_or_create retries the read after an IntegrityError, so two deliveries creating the
    # same member at once both end up with the one row the unique constraint allowed.
    member, _ = Member.objects.get_or_create(pomelo_user_id=pomelo_user_id)
    return member


@transaction.atomic
def card_get_or_create(*, member: Member, pomelo_card_id: str, last_four: str = "") -> Card:
    card, created = Card.objects.get_or_create(
        pomelo_card_id=pomelo_card_id, defaults={"member": member, "last_four": last_four}
    )
    if not created and last_four and not card.last_four:
        Card.objects.filter(pk=card.pk, last_four="").update(last_four=last_four)
        card.last_four = last_four
    return card


@transaction.atomic
def reward_account_get_or_create(*, member: Member, account_type: str) -> RewardAccount:
    account_type = account_type_validate(account_type=account_type)
    account, _ = RewardAccount.objects.get_or_create(member=member, account_type=account_type)
    return account
