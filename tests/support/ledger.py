"""What the ledger says of a member's balances."""

from decimal import Decimal


def balances(user: str = "usr-1", account_type: str = "points") -> tuple[Decimal, Decimal]:
    from accounts.models import RewardAccount

    account = RewardAccount.objects.filter(
        member__pomelo_user_id=user, account_type=account_type
    ).first()
    if account is None:
        return Decimal("0"), Decimal("0")
    return account.pending_balance, account.available_balance
