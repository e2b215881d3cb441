"""Posting to the ledger: one entry and its balance column, together."""

from decimal import Decimal

from accounts.models import RewardAccount
from rewards.chain_links import ledger_entry_link
from rewards.models import Adjustment, LedgerEntry, RewardEvent

# Balance columns are numeric(18, 2): refuse to compute a balance they cannot store.
BALANCE_LIMIT = Decimal("1e16")


class LedgerOverflow(ArithmeticError):
    pass


def ledger_post(
    *,
    account: RewardAccount,
    bucket: str,
    amount: Decimal,
    description: str,
    reward_event: RewardEvent | None = None,
    adjustment: Adjustment | None = None,
) -> None:
    """Append one entry and move the matching balance column in memory.

    The caller holds the account's row lock (select_for_update) and saves the account in the
    same transaction.
    """
    if amount == 0:
        return
    field = "pending_balance" if bucket == LedgerEntry.Bucket.PENDING else "available_balance"
    new_balance = getattr(account, field) + amount
    if new_balance.copy_abs() >= BALANCE_LIMIT:
        raise LedgerOverflow(f"{field} of account {account.pk} would exceed {BALANCE_LIMIT:,.0f}")
    setattr(account, field, new_balance)
    entry = LedgerEntry(
        account=account, bucket=bucket, amount=amount, description=description,
        reward_event=reward_event, adjustment=adjustment,
    )
    ledger_entry_link(entry=entry)
    entry.save(force_insert=True)
