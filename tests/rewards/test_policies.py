"""The adjustment rules on their own: the same functions decide for the services and for the
buttons the pages show."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rewards.models import Adjustment
from rewards.policies import (
    cancel_refusal,
    debit_refusal,
    decide_refusal,
    resume_refusal,
    review_refusal,
)
from tests.support.factories import AdjustmentFactory

S = Adjustment.State
NOW = timezone.now()


@pytest.fixture
def staff(make_staff):
    return {role: make_staff(role.split()[0].lower(), role)
            for role in ("Support agent", "Approver", "Finance auditor")}


def adjustment(maker, *, amount="10.00", **fields):
    # Not saved: the rules read the adjustment's fields and nothing else.
    return AdjustmentFactory.build(pk=7, maker=maker, amount=Decimal(amount),
                                   expires_at=NOW + timedelta(hours=1), **fields)


def test_review_refusals_in_one_order(staff):
    agent, approver = staff["Support agent"], staff["Approver"]
    pending = adjustment(agent)
    assert review_refusal(pending, user=approver, now=NOW) == ""
    assert "permission to approve or reject" in review_refusal(pending, user=agent, now=NOW)
    assert "another approver must approve it" in review_refusal(
        adjustment(approver), user=approver, now=NOW, verb="approve")
    assert "only a request pending approval can be rejected" in review_refusal(
        adjustment(agent, state=S.REJECTED), user=approver, now=NOW, verb="reject")
    assert "past its approval deadline" in review_refusal(pending, user=approver,
                                                          now=NOW + timedelta(hours=2))
    assert "a different approver" in review_refusal(pending, user=approver, now=NOW,
                                                    already_approved=True)


def test_a_debit_below_zero_is_refused_unless_pomelo_allows_it(staff, settings):
    debit = adjustment(staff["Support agent"], direction="debit", amount="50.00")
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = False
    assert "below zero" in debit_refusal(debit, available=Decimal("49.99"))
    assert debit_refusal(debit, available=Decimal("50.00")) == ""
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = True
    assert debit_refusal(debit, available=Decimal("0")) == ""


def test_only_the_maker_cancels_a_pending_request(staff):
    agent, approver = staff["Support agent"], staff["Approver"]
    assert cancel_refusal(adjustment(agent), user=agent) == ""
    assert "Only the person who requested" in cancel_refusal(adjustment(agent), user=approver)
    assert "can be cancelled" in cancel_refusal(adjustment(agent, state=S.APPROVED), user=agent)


def test_resume_needs_the_permission_and_an_expired_lease(staff):
    agent, approver = staff["Support agent"], staff["Approver"]
    overdue = adjustment(agent, state=S.SUBMITTING, lease_expires_at=NOW - timedelta(seconds=1))
    holding = adjustment(agent, state=S.SUBMITTING, lease_expires_at=NOW + timedelta(minutes=1))
    assert resume_refusal(overdue, user=approver, now=NOW) == ""
    assert "permission to resume" in resume_refusal(overdue, user=agent, now=NOW)
    assert "holds the lease until" in resume_refusal(holding, user=approver, now=NOW)
    assert "whose lease is over" in resume_refusal(adjustment(agent, state=S.FAILED),
                                                   user=approver, now=NOW)


def test_an_approver_other_than_the_maker_settles_an_unknown_outcome(staff):
    agent, approver = staff["Support agent"], staff["Approver"]
    unknown = adjustment(agent, state=S.OUTCOME_UNKNOWN)
    assert decide_refusal(unknown, user=approver) == ""
    assert "permission to decide" in decide_refusal(unknown, user=staff["Finance auditor"])
    assert "another approver must decide" in decide_refusal(
        adjustment(approver, state=S.OUTCOME_UNKNOWN), user=approver)
    assert "whose outcome is unknown" in decide_refusal(adjustment(agent, state=S.SUCCEEDED),
                                                        user=approver)
