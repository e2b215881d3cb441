"""A maker's own requests: "My requests" lists only theirs, and what became of them is shown
once, on their next admin page."""

import pytest

from rewards.models import MakerNotification
from rewards.services.adjustments import adjustment_reject
from tests.support.adjustments import request

pytestmark = pytest.mark.django_db
LIST = "/admin/rewards/adjustment/"


def test_my_requests_lists_only_the_requests_i_made(client, people, member):
    mine = request(people, member)
    theirs = request(people, member, maker=people["agent2"], direction="debit", amount="3.00")
    client.force_login(people["agent"])
    html = client.get(LIST, {"made_by": "me"}).content.decode()
    assert f'/admin/rewards/adjustment/{mine.pk}/change/' in html
    assert f'/admin/rewards/adjustment/{theirs.pk}/change/' not in html
    # Without the filter both are listed, and the sidebar points at the filtered list.
    html = client.get(LIST).content.decode()
    assert f'/admin/rewards/adjustment/{theirs.pk}/change/' in html
    assert 'href="/admin/rewards/adjustment/?made_by=me"' in html


def test_my_bulk_batches_is_in_the_sidebar_of_those_who_upload(client, people):
    client.force_login(people["agent"])
    html = client.get("/admin/bulk_adjustments/bulkbatch/", {"made_by": "me"}).content.decode()
    assert 'href="/admin/bulk_adjustments/bulkbatch/?made_by=me"' in html
    client.force_login(people["auditor"])
    html = client.get("/admin/").content.decode()
    assert "?made_by=me" not in html


def test_a_decision_is_shown_to_its_maker_once(client, people, member):
    adjustment = request(people, member)
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    text = (f"Your request #{adjustment.pk}, a credit of 25.00 points for usr-1, was rejected; "
            "the approver&#x27;s comment is on its page.")

    client.force_login(people["approver"])
    assert text not in client.get("/admin/").content.decode()

    client.force_login(people["agent"])
    html = client.get("/admin/").content.decode()
    assert text in html
    assert f'<a href="/admin/rewards/adjustment/{adjustment.pk}/change/">#{adjustment.pk}</a>' in html
    assert MakerNotification.objects.get().seen_at is not None
    assert text not in client.get("/admin/").content.decode()
