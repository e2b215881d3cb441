"""Requesting, approving and interrupting adjustments through the services."""

import re
import urllib.request

import pytest
import responses

from rewards.models import Adjustment
from rewards.services.adjustments import adjustment_approve, adjustment_request, adjustment_submit


def make_request(maker, member, **overrides) -> Adjustment:
    fields = dict(maker=maker, member=member, card=member.cards.first(), account_type="points",
                  direction="credit", amount="25.00", reason_code="goodwill",
                  reason_text="late delivery")
    fields.update(overrides)
    return adjustment_request(**fields)


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
