"""Fixtures of the reward tests: staff in each role, and usr-1 with 100.00 points, fed through
the webhooks."""

import re
import urllib.request

import pytest
import responses
from django.contrib.auth.models import Group, User

from accounts.models import Member
from rewards.models import Adjustment
from rewards.services.adjustments import adjustment_approve, adjustment_request, adjustment_submit
from tests.conftest import notification_body


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_staff):
    lead = make_staff("lead", "Support agent")
    lead.groups.add(Group.objects.get(name="Approver"))
    return {
        "lead": User.objects.get(pk=lead.pk),
        "agent": make_staff("agent", "Support agent"),
        "agent2": make_staff("agent2", "Support agent"),
        "approver": make_staff("approver", "Approver"),
        "approver2": make_staff("approver2", "Approver"),
        "auditor": make_staff("auditor", "Finance auditor"),
    }


@pytest.fixture
def member(webhook):
    """usr-1 with card crd-1 and 100.00 available points, fed through the webhooks."""
    webhook.post("confirmation", notification_body("confirmation", "ctx-seed", amount="100.00"))
    return Member.objects.get(pomelo_user_id="usr-1")


def request(people, member, **overrides):
    fields = dict(maker=people["agent"], member=member, card=member.cards.first(),
                  account_type="points", direction="credit", amount="25.00",
                  reason_code="goodwill", reason_text="late delivery", ip_address="10.1.2.3")
    fields.update(overrides)
    return adjustment_request(**fields)


def approve(adjustment, user, comment="ok", **kw):
    return adjustment_approve(adjustment_id=adjustment.pk, approver=user, comment=comment, **kw)


def worker_killed_mid_call(adjustment: Adjustment, *, reach_pomelo: bool) -> None:
    """Run the submission and kill it while Pomelo handles the call, as SIGKILL would: the claim
    is committed and nothing is recorded. With `reach_pomelo`, Pomelo gets (and applies) the
    request first; its answer is never read."""

    def killed(prepared):
        if reach_pomelo:
            urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - the local stand-in
                prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
            ), timeout=10).read()
        raise SystemExit("worker killed")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.add_passthru(re.compile(r".*/oauth/token$"))
        fake.add_callback(responses.POST, re.compile(r".*/(mint|burn)$"), callback=killed)
        with pytest.raises(SystemExit):
            adjustment_submit(adjustment_id=adjustment.pk)
    adjustment.refresh_from_db()
    assert adjustment.state == Adjustment.State.SUBMITTING and adjustment.lease_expires_at is not None
