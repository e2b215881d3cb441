"""The README's reward lifecycle table, cell by cell, through the service that applies notifications."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Card, Member, RewardAccount
from rewards.models import LedgerEntry, NotificationKind, RewardEvent
from rewards.notification_data import RewardNotification
from rewards.services import reward_notification_apply
from tests.support.ledger import balances

pytestmark = pytest.mark.django_db

P, C, X = NotificationKind.PENDING, NotificationKind.CONFIRMATION, NotificationKind.CANCELLATION
S = RewardEvent.State


def notify(kind, *, tx="ctx-1", amount="10.00", user="usr-1", account_type="points", **extra):
    return reward_notification_apply(
        notification=RewardNotification(
            kind=kind, event_id="e", idempotency_key=f"{tx}-{kind}",
            user_id=user, card_id=extra.pop("card_id", "crd-1"), transaction_id=tx,
            account_type=account_type, amount=None if amount is None else Decimal(amount), **extra,
        )
    )


def state(tx="ctx-1"):
    return RewardEvent.objects.get(transaction_id=tx, account_type="points").state


@pytest.mark.parametrize(
    ("sequence", "final_state", "pending", "available"),
    [
        ([P], S.PENDING, "10.00", "0"),
        ([C], S.CONFIRMED, "0", "10.00"),
        ([X], S.CANCELLED, "0", "0"),
        ([P, P], S.PENDING, "10.00", "0"),
        ([P, C], S.CONFIRMED, "0", "10.00"),
        ([P, X], S.CANCELLED, "0", "0"),
        ([C, P], S.CONFIRMED, "0", "10.00"),
        ([C, C], S.CONFIRMED, "0", "10.00"),
        ([C, X], S.CANCELLED, "0", "0"),
        ([X, P], S.CANCELLED, "0", "0"),
        ([X, C], S.CANCELLED, "0", "0"),
        ([X, X], S.CANCELLED, "0", "0"),
        ([P, C, X], S.CANCELLED, "0", "0"),
        ([X, C, P], S.CANCELLED, "0", "0"),
    ],
)
def test_lifecycle_table(sequence, final_state, pending, available):
    for kind in sequence:
        notify(kind)
    assert state() == final_state
    assert balances() == (Decimal(pending), Decimal(available))
    call_command("check_ledger")


def test_confirmation_after_cancellation_is_flagged_for_review():
    notify(X)
    result = notify(C)
    event = RewardEvent.objects.get()
    assert event.needs_review and "after the reward was cancelled" in event.review_reason
    assert "flagged" in result.summary
    assert LedgerEntry.objects.count() == 0


def test_confirmation_books_its_own_amount_and_releases_the_pending_one():
    notify(P, amount="10.00")
    notify(C, amount="12.50")
    assert balances() == (Decimal("0"), Decimal("12.50"))
    entries = sorted(LedgerEntry.objects.values_list("bucket", "amount"))
    assert entries == [("available", Decimal("12.50")), ("pending", Decimal("-10.00")),
                       ("pending", Decimal("10.00"))]
    notify(X, amount=None)
    assert balances() == (Decimal("0"), Decimal("0"))


def test_negative_confirmation_debits_available():
    notify(C, tx="ctx-a", amount="50.00")
    notify(C, tx="ctx-b", amount="-20.00")
    assert balances() == (Decimal("0"), Decimal("30.00"))


def test_members_cards_and_accounts_are_created_from_notifications():
    notify(P, card_id="crd-9", card_last_four="4242")
    member = Member.objects.get(pomelo_user_id="usr-1")
    card = Card.objects.get(pomelo_card_id="crd-9")
    assert card.member == member and card.last_four == "4242"
    assert RewardAccount.objects.filter(member=member, account_type="points").exists()


def test_account_types_are_separate_rewards_of_one_transaction():
    notify(P, account_type="points", amount="10.00")
    notify(P, account_type="cashback", amount="1.25")
    assert balances(account_type="points") == (Decimal("10.00"), Decimal("0"))
    assert balances(account_type="cashback") == (Decimal("1.25"), Decimal("0"))


def test_notification_missing_ledger_fields_moves_no_money():
    result = notify(P, amount=None)
    assert result.flagged == "missing amount: no money moved"
    assert not RewardEvent.objects.exists() and not LedgerEntry.objects.exists()


def test_cancellation_without_user_reverses_a_known_reward():
    notify(P)
    result = notify(X, user=None, amount=None)
    assert not result.flagged
    assert state() == S.CANCELLED and balances() == (Decimal("0"), Decimal("0"))


def test_cancellation_without_user_for_an_unknown_reward_is_kept_as_a_tombstone():
    result = notify(X, user=None, amount=None)
    assert not result.flagged
    event = RewardEvent.objects.get()
    assert event.state == S.CANCELLED and event.account is None
    assert not Member.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("late", [P, C])
def test_userless_tombstone_is_adopted_by_the_reward_and_books_nothing(late):
    notify(X, user=None, amount=None, card_id=None)
    notify(late)
    event = RewardEvent.objects.get()
    assert event.state == S.CANCELLED
    assert event.account == RewardAccount.objects.get(member__pomelo_user_id="usr-1")
    assert event.card.pomelo_card_id == "crd-1"
    assert balances() == (Decimal("0"), Decimal("0")) and not LedgerEntry.objects.exists()
    call_command("check_ledger")


def test_check_ledger_reports_a_tampered_balance(capsys):
    notify(C)
    RewardAccount.objects.update(available_balance=Decimal("99.00"))
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_ledger")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "bucket=available balance=99.00 entries=10.00 difference=89.00" in err
