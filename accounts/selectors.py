"""Reads of members and their accounts."""

from django.db.models import Q, QuerySet

from accounts.models import Member


def member_search(*, query: str) -> QuerySet[Member]:
    """Find members by name, email, Pomelo user id, Pomelo card id or card last four."""
    query = query.strip()
    members = Member.objects.all()
    if not query:
        return members
    condition = (
        Q(name__icontains=query)
        | Q(email__iexact=query)
        | Q(pomelo_user_id=query)
        | Q(cards__pomelo_card_id=query)
    )
    if query.isdigit() and len(query) == 4:
        condition |= Q(cards__last_four=query)
    return members.filter(condition).distinct()
