"""The delivery inbox: member, transaction and amount in the list; a Reprocess button on a
failed or flagged delivery's page, for those allowed to reprocess."""

import pytest
from django.contrib.messages import get_messages

from tests.support.webhooks import notification_body
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(webhook):
    webhook.post("pending", notification_body("pending", "tx-fine", amount="1234.50"))
    webhook.post("pending", notification_body("pending", "tx-odd", amount="1.001"))
    return Delivery.objects.get(outcome=Delivery.Outcome.FLAGGED)


def test_the_list_shows_member_transaction_and_amount_and_hides_technical_columns(
    client, make_staff, flagged
):
    client.force_login(make_staff("auditor", "Finance auditor"))
    html = client.get("/admin/webhooks/delivery/").content.decode()
    assert "tx-fine" in html and "tx-odd" in html and "1,234.50 points" in html
    assert '?q=usr-1">usr-1</a>' in html
    assert "outcome-flagged" in html
    assert "column-idempotency_key" not in html and "column-remote_addr" not in html


def test_reprocess_from_the_page_for_administrators_only(client, make_staff, flagged):
    page = f"/admin/webhooks/delivery/{flagged.pk}/change/"
    url = f"/admin/webhooks/delivery/{flagged.pk}/reprocess/"
    client.force_login(make_staff("auditor", "Finance auditor"))
    html = client.get(page).content.decode()
    assert 'id="reprocess-form"' not in html and "Technical details" in html
    assert client.post(url).status_code == 403 and client.get(url).status_code == 403
    assert Delivery.objects.get(pk=flagged.pk).attempts == flagged.attempts

    client.force_login(make_staff("administrator", "Administrator"))
    assert f'href="{url}"' in client.get(page).content.decode()
    # The button asks to confirm first; only the POST of that page reprocesses.
    confirm = client.get(url).content.decode()
    assert f"Apply delivery #{flagged.pk} (Kept for review, no money moved) again" in confirm
    assert 'method="post"' in confirm
    assert Delivery.objects.get(pk=flagged.pk).attempts == flagged.attempts
    assert client.put(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == page
    message = str(next(iter(get_messages(response.wsgi_request))))
    assert message.startswith(f"Delivery #{flagged.pk}: flagged")
    processed = Delivery.objects.exclude(pk=flagged.pk).get()
    html = client.get(f"/admin/webhooks/delivery/{processed.pk}/change/").content.decode()
    assert 'id="reprocess-form"' not in html
    # Nothing to confirm for a delivery that applied: back to its page, saying so.
    response = client.get(f"/admin/webhooks/delivery/{processed.pk}/reprocess/")
    assert response.status_code == 302
    assert "there is nothing to reprocess" in str(list(get_messages(response.wsgi_request))[-1])
