"""Searches by the ids Pomelo gives members, cards and rewards."""

from dataclasses import dataclass

from accounts.models import Card, RewardAccount
from rewards.models import RewardEvent

POMELO_ID_MATCHES_LIMIT = 1000


@dataclass(frozen=True)
class PomeloIdMatches:
    """What a Pomelo id typed into a search names: the reward accounts of the member with that
    user id, the cards with that card id, the reward events of that transaction."""

    account_ids: list[int]
    card_ids: list[int]
    reward_event_ids: list[int]


def pomelo_id_matches(*, term: str) -> PomeloIdMatches:
    """Three small queries on the ids' UPPER indexes (the searches are case-insensitive), so a
    list can then be filtered on its own indexes instead of scanning a join of big tables."""
    term = term.strip()
    if not term or len(term) > 64:
        return PomeloIdMatches([], [], [])

    def ids(queryset, field="pk") -> list[int]:
        return list(queryset.order_by().values_list(field, flat=True)[:POMELO_ID_MATCHES_LIMIT])

    return PomeloIdMatches(
        account_ids=ids(RewardAccount.objects.filter(member__pomelo_user_id__iexact=term)),
        card_ids=ids(Card.objects.filter(pomelo_card_id__iexact=term)),
        reward_event_ids=ids(RewardEvent.objects.filter(transaction_id__iexact=term)),
    )
