"""The transaction rule: service entry points open their own transaction, and Pomelo is never
called inside one."""

import pytest
from django.db import transaction

from accounts.models import BalanceSnapshot
from rewards.models import Adjustment
from rewards.services.adjustments import (
    adjustment_cancel,
    adjustment_request,
    adjustment_request_joined,
    adjustment_submit,
)
from rewards.services.balance_checks import member_balance_check
from tests.support.adjustments import approve, request

S = Adjustment.State


def test_submission_refuses_to_run_inside_an_open_transaction(people, member, sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    adjustment = request(people, member)
    approve(adjustment, people["approver"])  # its submission task is queued after the commit
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        adjustment_submit(adjustment_id=adjustment.pk)
    adjustment.refresh_from_db()
    assert adjustment.state == S.APPROVED and adjustment.submit_attempts == 0
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 0


def test_balance_check_refuses_to_ask_pomelo_inside_an_open_transaction(people, member,
                                                                         sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        member_balance_check(member=member, actor=people["agent"])
    assert not BalanceSnapshot.objects.exists()


def test_entry_points_do_not_join_a_callers_transaction(people, member):
    adjustment = request(people, member)
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        adjustment_cancel(adjustment_id=adjustment.pk, maker=people["agent"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.PENDING_APPROVAL


def test_entry_points_run_when_no_transaction_is_open(people, member, sandbox_pomelo):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    snapshot = member_balance_check(member=member, actor=people["agent"])
    assert snapshot.balances["points"] == "100.00" and not snapshot.error


def test_a_request_is_an_entry_point_and_its_joined_form_joins(people, member):
    fields = dict(maker=people["agent"], member=member, card=member.cards.get(), account_type="points",
                  direction="credit", amount="5", reason_code="goodwill", reason_text="late delivery")
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        adjustment_request(**fields)
    assert not Adjustment.objects.exists()
    with transaction.atomic():
        joined = adjustment_request_joined(**fields)
        assert Adjustment.objects.filter(pk=joined.pk).exists()  # inside the caller's transaction
    assert Adjustment.objects.get().state == S.PENDING_APPROVAL
