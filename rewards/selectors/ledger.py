"""Reads of the reward ledger: does every account's balance equal the sum of its entries."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import (
    DecimalField,
    OuterRef,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import RewardAccount
from rewards.models import LedgerEntry

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LedgerMismatch:
    account: RewardAccount
    bucket: str
    balance: Decimal
    entries_total: Decimal

    @property
    def difference(self) -> Decimal:
        return self.balance - self.entries_total


def _bucket_total(bucket: str) -> Coalesce:
    total = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), bucket=bucket)
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Value(Decimal("0"), output_field=money))


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every reward account bucket whose balance column differs from the sum of its entries."""
    accounts = RewardAccount.objects.select_related("member").annotate(
        pending_total=_bucket_total(LedgerEntry.Bucket.PENDING),
        available_total=_bucket_total(LedgerEntry.Bucket.AVAILABLE),
    )
    mismatches = []
    for account in accounts.iterator(chunk_size=2000):
        for bucket, balance, total in (
            (LedgerEntry.Bucket.PENDING, account.pending_balance, account.pending_total),
            (LedgerEntry.Bucket.AVAILABLE, account.available_balance, account.available_total),
        ):
            # SQLite sums decimals without their scale; compare to the cent on every backend.
            total = Decimal(total).quantize(CENT)
            if balance != total:
                mismatches.append(LedgerMismatch(account, bucket, balance, total))
    return mismatches
