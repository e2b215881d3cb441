"""Reads of members and their accounts."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet

from accounts.models import BalanceSnapshot, Card, Member

ZERO = Decimal("0.00")


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


IDENTIFIER_MATCHES_LIMIT = 1000


def member_ids_by_identifier(*, term: str) -> list[int]:
    """Members whose Pomelo user id, or one of whose cards' Pomelo card id (both regardless of
    case) or last four, is `term`. One query on indexes (the ids' UPPER indexes and last
    four's), whatever the size of the tables."""
    term = term.strip()
    if not term or len(term) > 64:
        return []
    cards = Q(pomelo_card_id__iexact=term)
    if len(term) == 4 and term.isdigit():
        cards |= Q(last_four=term)
    by_card = Card.objects.filter(cards).order_by().values_list("member_id", flat=True)
    by_user = Member.objects.filter(pomelo_user_id__iexact=term).order_by().values_list("pk", flat=True)
    return sorted(by_user.union(by_card)[:IDENTIFIER_MATCHES_LIMIT])


@dataclass(frozen=True)
class AccountBalance:
    account_type: str
    available: Decimal
    pending: Decimal
    exists: bool


def member_balances(*, member: Member) -> list[AccountBalance]:
    """The member's balance in every configured account type (zero where no account exists
    yet), then any other account type the ledger holds for them. One query."""
    accounts = {a.account_type: a for a in member.reward_accounts.all()}
    types = list(settings.POMELO_ACCOUNT_TYPES)
    types += sorted(t for t in accounts if t not in types)
    balances = []
    for account_type in types:
        account = accounts.get(account_type)
        balances.append(AccountBalance(
            account_type=account_type,
            available=account.available_balance if account else ZERO,
            pending=account.pending_balance if account else ZERO,
            exists=account is not None,
        ))
    return balances


def member_latest_snapshot(*, member: Member) -> BalanceSnapshot | None:
    return (
        BalanceSnapshot.objects.filter(member=member)
        .select_related("card", "requested_by")
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class SnapshotLine:
    account_type: str
    pomelo: Decimal | None
    ledger: Decimal | None
    ledger_now: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        """Pomelo minus our ledger, both as they were at the moment of the check."""
        if self.pomelo is None:
            return None
        return self.pomelo - (self.ledger or ZERO)

    @property
    def differs(self) -> bool:
        if self.pomelo is None:
            # Not reported by Pomelo: only a concern when our ledger holds something there.
            return (self.ledger or ZERO) != ZERO
        return self.pomelo != (self.ledger or ZERO)

    @property
    def ledger_changed_since(self) -> bool:
        return (self.ledger or ZERO) != (self.ledger_now or ZERO)


def _decimal(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def snapshot_lines(
    *, snapshot: BalanceSnapshot, balances: list[AccountBalance] | None = None
) -> list[SnapshotLine]:
    """Pomelo's balances beside our ledger's at the moment of the check, per account type.

    A type neither side mentions is left out; a type Pomelo did not report stays empty (None)
    on its side and differs only if our ledger holds a balance there.
    With `balances` (the member's current ones) each line also carries today's ledger figure.
    """
    now = {b.account_type: b.available for b in balances or []}
    types = list(settings.POMELO_ACCOUNT_TYPES)
    types += sorted(
        t for t in {*snapshot.balances, *snapshot.ledger_balances} if t not in types
    )
    lines = []
    for account_type in types:
        pomelo = _decimal(snapshot.balances.get(account_type))
        ledger = _decimal(snapshot.ledger_balances.get(account_type))
        if pomelo is None and ledger is None:
            continue
        lines.append(SnapshotLine(
            account_type=account_type,
            pomelo=pomelo,
            ledger=ledger,
            ledger_now=now.get(account_type) if balances is not None else None,
        ))
    return lines
