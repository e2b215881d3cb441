"""Checking every row of a bulk file against the single-adjustment rules, before anything is
created. Reads only: the preview and the confirmation both call it."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.utils import translation

from accounts.models import Card, Member, RewardAccount
from accounts.services import UnknownAccountType, account_type_validate
from bulk_adjustments.csv_file import CsvRow
from bulk_adjustments.policies import batch_approvals_required
from rewards.models import Adjustment
from rewards.policies import negative_balance_allowed
from rewards.services.adjustments import AdjustmentError
from rewards.services.adjustments import _amount_validate as adjustment_amount_validate

LOOKUP_CHUNK = 500  # ids per IN (...) query: SQLite caps the parameters of one statement


@dataclass
class RowCheck:
    line: int
    cells: dict[str, str]
    errors: list[str] = field(default_factory=list)
    member_id: int | None = None
    card_id: int | None = None
    account_type: str = ""
    direction: str = ""
    amount: Decimal | None = None
    reason_code: str = ""
    reason_text: str = ""

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def error(self) -> str:
        return " ".join(self.errors)


@dataclass
class Preview:
    file_name: str
    file_sha256: str
    file_size: int
    rows: list[RowCheck]
    totals: dict[str, dict[str, dict[str, str | int]]]
    approvals_required: int
    digest: str

    @property
    def valid_rows(self) -> list[RowCheck]:
        return [row for row in self.rows if row.valid]

    @property
    def invalid_rows(self) -> list[RowCheck]:
        return [row for row in self.rows if not row.valid]


def _chunks(values: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _members_by_user_id(user_ids: Iterable[str]) -> dict[str, Member]:
    found = {}
    for chunk in _chunks(sorted(set(user_ids))):
        for member in Member.objects.filter(pomelo_user_id__in=chunk).only("id", "pomelo_user_id"):
            found[member.pomelo_user_id] = member
    return found


_CARD_FIELDS = ("id", "pomelo_card_id", "member_id", "status")


def _cards_by_id(card_ids: Iterable[str]) -> dict[str, Card]:
    by_id: dict[str, Card] = {}
    for chunk in _chunks(sorted(set(card_ids))):
        for card in Card.objects.filter(pomelo_card_id__in=chunk).only(*_CARD_FIELDS):
            by_id[card.pomelo_card_id] = card
    return by_id


def _cards_by_member(member_ids: Iterable[int]) -> dict[int, list[Card]]:
    by_member: dict[int, list[Card]] = defaultdict(list)
    for chunk in _chunks(sorted(set(member_ids))):
        for card in Card.objects.filter(member_id__in=chunk).only(*_CARD_FIELDS).order_by("pk"):
            by_member[card.member_id].append(card)
    return by_member


def _member_facts(member_ids: list[int]) -> tuple[dict, set]:
    """Available balance per (member, account type), and the open adjustments' keys."""
    available, open_keys = {}, set()
    for chunk in _chunks(sorted(set(member_ids))):
        for member_id, account_type, balance in RewardAccount.objects.filter(
            member_id__in=chunk
        ).values_list("member_id", "account_type", "available_balance"):
            available[(member_id, account_type)] = balance
        open_keys.update(Adjustment.objects.open().filter(member_id__in=chunk).values_list(
            "member_id", "account_type", "direction"))
    return available, open_keys


def _card_for(check: RowCheck, *, member: Member | None, card: Card | None,
              member_cards: dict[int, list[Card]]) -> Card | None:
    user_id, card_id = check.cells.get("pomelo_user_id", ""), check.cells.get("card_id", "")
    if not user_id and not card_id:
        check.errors.append("Give the member's Pomelo user id or a card id.")
        return None
    if user_id and member is None:
        check.errors.append(f"No member with Pomelo user id {user_id!r}.")
        return None
    if card_id and card is None:
        check.errors.append(f"No card with id {card_id!r}.")
        return None
    if card is not None:
        if member is not None and card.member_id != member.pk:
            check.errors.append(f"Card {card_id} does not belong to member {user_id}.")
            return None
        return card
    cards = member_cards.get(member.pk, [])
    active = [c for c in cards if c.status == Card.Status.ACTIVE]
    if len(cards) == 1 or len(active) == 1:
        return active[0] if len(active) == 1 else cards[0]
    if not cards:
        check.errors.append("This member has no card; Pomelo adjusts balances by card.")
    else:
        check.errors.append(f"This member has {len(cards)} cards; give the card_id to use.")
    return None


def _fields_check(check: RowCheck) -> None:
    cells = check.cells
    try:
        check.account_type = account_type_validate(account_type=cells["account_type"])
    except UnknownAccountType as exc:
        check.errors.append(f"Unknown account type: {exc}.")
    direction = cells["direction"].lower()
    if direction in Adjustment.Direction.values:
        check.direction = direction
    else:
        check.errors.append(f"Direction must be credit or debit, not {cells['direction']!r}.")
    reason_code = cells["reason_code"].lower()
    if reason_code in Adjustment.ReasonCode.values:
        check.reason_code = reason_code
    else:
        check.errors.append(
            f"Unknown reason code {cells['reason_code']!r}; one of "
            f"{', '.join(Adjustment.ReasonCode.values)}."
        )
    check.reason_text = cells["reason_text"]
    if not check.reason_text:
        check.errors.append("Explain the reason for the adjustment (reason_text).")
    try:
        check.amount = adjustment_amount_validate(cells["amount"])
    except AdjustmentError as exc:
        check.errors.append(str(exc))


def rows_validate(rows: list[CsvRow]) -> list[RowCheck]:
    """Each row with its errors (none when valid), by the rules of a single adjustment request,
    plus one of a batch: a member, account type and direction appear in one row only."""
    members = _members_by_user_id(r.cells["pomelo_user_id"] for r in rows if r.cells.get("pomelo_user_id"))
    cards_by_id = _cards_by_id(r.cells["card_id"] for r in rows if r.cells.get("card_id"))
    member_ids = [m.pk for m in members.values()] + [c.member_id for c in cards_by_id.values()]
    # Only rows without a card id need the member's cards.
    member_cards = _cards_by_member(
        members[r.cells["pomelo_user_id"]].pk for r in rows
        if not r.cells.get("card_id") and r.cells.get("pomelo_user_id") in members
    )
    available, open_keys = _member_facts(member_ids)
    allow_negative = negative_balance_allowed()
    checks, first_line = [], {}
    for row in rows:
        check = RowCheck(line=row.line, cells=row.cells)
        _fields_check(check)
        card = _card_for(check, member=members.get(row.cells.get("pomelo_user_id", "")),
                         card=cards_by_id.get(row.cells.get("card_id", "")), member_cards=member_cards)
        if card is not None:
            check.card_id, check.member_id = card.pk, card.member_id
        checks.append(check)
        if not check.valid:
            continue
        key = (check.member_id, check.account_type, check.direction)
        if key in first_line:
            check.errors.append(
                f"Line {first_line[key]} already has a {check.direction} of {check.account_type} "
                "for this member: one row each."
            )
            continue
        first_line[key] = check.line
        if key in open_keys:
            check.errors.append(
                f"There is already an open {check.direction} request for {check.account_type} "
                "for this member; it must be settled first."
            )
        if check.direction == Adjustment.Direction.DEBIT:
            balance = available.get((check.member_id, check.account_type), Decimal("0"))
            if check.amount > balance:
                check.errors.append(
                    f"Debit of {check.amount} exceeds the available {check.account_type} balance "
                    f"of {balance}. "
                    + ("Pomelo does not let a balance go below zero." if not allow_negative else
                       "A debit above the balance needs an approver's override: request it on "
                       "its own.")
                )
    return checks


def totals_of(checks: Iterable[RowCheck]) -> dict[str, dict[str, dict[str, str | int]]]:
    """Count and sum of the valid rows per account type and direction."""
    sums: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal("0")]))
    for check in checks:
        if check.valid:
            entry = sums[check.account_type][check.direction]
            entry[0] += 1
            entry[1] += check.amount
    return {
        account_type: {direction: {"count": count, "amount": str(amount)}
                       for direction, (count, amount) in sorted(by_direction.items())}
        for account_type, by_direction in sorted(sums.items())
    }


def preview_digest(checks: Iterable[RowCheck]) -> str:
    """A fingerprint of what the maker saw: every row's outcome and resolved values."""
    canonical = [
        [c.line, c.member_id, c.card_id, c.account_type, c.direction, str(c.amount), c.reason_code,
         c.reason_text, c.error]
        for c in checks
    ]
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def preview_build(*, file_name: str, content: bytes, rows: list[CsvRow]) -> Preview:
    # The rows' errors are stored with the batch (and in its digest): in LANGUAGE_CODE, whoever
    # uploads the file.
    with translation.override(settings.LANGUAGE_CODE):
        checks = rows_validate(rows)
    totals = totals_of(checks)
    return Preview(
        file_name=file_name, file_sha256=hashlib.sha256(content).hexdigest(), file_size=len(content),
        rows=checks, totals=totals, approvals_required=batch_approvals_required(totals=totals),
        digest=preview_digest(checks),
    )
