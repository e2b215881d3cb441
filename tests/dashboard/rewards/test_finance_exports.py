"""The CSV exports of the audit trail, the ledger and reward events (the list as filtered, in
local time, audited), and the saved filters of the finance lists."""

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse

from accounts.models import Member
from rewards.models import AuditEntry, LedgerEntry, RewardEvent
from rewards.services.adjustments import adjustment_reject
from staff.models import SavedFilter
from tests.support.adjustments import make_request
from tests.support.pages import as_user, messages_of
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db

AUDIT = "/admin/rewards/auditentry/"
LEDGER = "/admin/rewards/ledgerentry/"
EVENTS = "/admin/rewards/rewardevent/"
ZONE = "America/Sao_Paulo"


def local(moment) -> str:
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def read_csv(response, name: str) -> list[dict]:
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(content.decode("utf-8").removeprefix("\ufeff"))))


@pytest.fixture
def story(people, member, webhook, settings):
    """usr-1 (named, with a formula-looking name) with two rewards and one rejected request."""
    settings.TIME_ZONE = ZONE
    Member.objects.filter(pk=member.pk).update(name="=Zoë Ñandú")
    webhook.post("pending", notification_body("pending", "ctx-two", amount="7.25"))
    adjustment = make_request(people["agent"], member, amount="30.00")
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="-not now")
    return {"adjustment": adjustment}


def test_audit_trail_export_is_the_filtered_list(client, people, story):
    as_user(client, people["auditor"])
    rows = read_csv(client.get(f"{AUDIT}export/", {"action__exact": "adjustment_rejected"}),
                    "audit-trail")
    rejected = AuditEntry.objects.get(action="adjustment_rejected")
    assert [r["Id"] for r in rows] == [str(rejected.pk)]
    row = rows[0]
    assert row[f"Created at ({ZONE})"] == local(rejected.created_at)
    assert row["Action code"] == "adjustment_rejected" and row["Actor"] == "approver"
    assert row["Adjustment"] == str(story["adjustment"].pk)
    assert row["Member"] == "'=Zoë Ñandú"  # the member's name, neutralised for spreadsheets
    assert row["Member user id"] == "usr-1"
    assert row["Comment"] == "'-not now"
    export = AuditEntry.objects.get(action="csv_exported")
    assert export.actor == people["auditor"]
    assert export.data == {"export": "audit_trail", "filters": {"action__exact": "adjustment_rejected"},
                           "query": "action__exact=adjustment_rejected"}


def test_ledger_export_is_the_filtered_list_with_plain_amounts(client, people, story):
    as_user(client, people["admin"])
    rows = read_csv(client.get(f"{LEDGER}export/", {"bucket__exact": "pending"}), "ledger")
    pending = LedgerEntry.objects.filter(bucket="pending")
    assert sorted(r["Id"] for r in rows) == sorted(str(e.pk) for e in pending)
    assert len(rows) == 1  # the seed was confirmed straight away: only ctx-two is pending
    row = rows[0]
    assert row["Amount"] == "7.25" and row["Bucket"] == "pending"
    assert row["Transaction id"] == "ctx-two" and row["Member"] == "'=Zoë Ñandú"
    assert row[f"Created at ({ZONE})"] == local(pending.get().created_at)
    assert AuditEntry.objects.get(action="csv_exported").data["export"] == "ledger"


def test_a_debit_in_the_ledger_export_stays_a_number(client, people, story, webhook):
    """A signed amount starts like a formula ("-") but is a number: not prefixed, so the
    spreadsheet adds the column up."""
    webhook.post("cancellation", notification_body("cancellation", "ctx-two", amount="7.25"))
    as_user(client, people["admin"])
    rows = read_csv(client.get(f"{LEDGER}export/", {"bucket__exact": "pending"}), "ledger")
    assert sorted(r["Amount"] for r in rows) == ["-7.25", "7.25"]


def test_reward_event_export_follows_the_search(client, people, story):
    as_user(client, people["auditor"])
    rows = read_csv(client.get(f"{EVENTS}export/", {"q": "ctx-two"}), "reward-events")
    event = RewardEvent.objects.get(transaction_id="ctx-two")
    assert [r["Transaction id"] for r in rows] == ["ctx-two"]
    row = rows[0]
    assert row["Amount"] == str(Decimal("7.25")) and row["State"] == "pending"
    assert row[f"Pending at ({ZONE})"] == local(event.pending_at)
    assert row["Member user id"] == "usr-1" and row["Card id"] == "crd-1"
    assert AuditEntry.objects.get(action="csv_exported").data["query"] == "q=ctx-two"


@pytest.mark.parametrize(("role", "url"), [
    ("approver", AUDIT), ("agent", LEDGER), ("agent", EVENTS), ("approver", EVENTS),
])
def test_a_role_without_the_permission_gets_403(client, people, story, role, url):
    as_user(client, people[role])
    assert client.get(f"{url}export/").status_code == 403
    assert 'id="export-csv"' not in client.get(url).content.decode()
    assert not AuditEntry.objects.filter(action="csv_exported").exists()


def test_export_link_carries_the_filters(client, people, story):
    as_user(client, people["auditor"])
    html = client.get(LEDGER, {"bucket__exact": "available"}).content.decode()
    assert f'href="{LEDGER}export/?bucket__exact=available"' in html


# --- saved filters ----------------------------------------------------------------------


def save(client, url, name, query):
    return client.post(f"{url}saved-filters/save/", {"name": name, "query": query})


def test_save_apply_and_delete_a_filter(client, people, story):
    as_user(client, people["auditor"])
    page = client.get(f"{LEDGER}saved-filters/save/", {"bucket__exact": "pending", "p": "2"})
    assert page.status_code == 200 and 'value="bucket__exact=pending&amp;p=2"' in page.content.decode()
    response = save(client, LEDGER, "  Month   end ", "bucket__exact=pending&p=2")
    assert response.status_code == 302
    assert response["Location"] == f"{LEDGER}?bucket__exact=pending"  # applied, page dropped
    saved = SavedFilter.objects.get()
    assert (saved.user, saved.view, saved.name, saved.query) == (
        people["auditor"], "ledger", "Month end", "bucket__exact=pending")

    html = client.get(LEDGER).content.decode()
    assert f'<a href="{LEDGER}?bucket__exact=pending">Month end</a>' in html
    assert "Month end" not in client.get(AUDIT).content.decode()  # saved for the ledger only
    applied = client.get(f"{LEDGER}?{saved.query}")
    assert [e.bucket for e in applied.context["cl"].result_list] == ["pending"]

    response = client.post(f"{LEDGER}saved-filters/{saved.pk}/delete/", follow=True)
    assert any("deleted" in m for m in messages_of(response))
    assert not SavedFilter.objects.exists()


def test_a_user_never_sees_or_deletes_anothers_filters(client, people, story):
    as_user(client, people["auditor"])
    assert save(client, AUDIT, "Rejections", "action__exact=adjustment_rejected").status_code == 302
    saved = SavedFilter.objects.get()
    assert ">Rejections</a>" in client.get(AUDIT).content.decode()
    as_user(client, people["admin"])
    assert ">Rejections</a>" not in client.get(AUDIT).content.decode()
    assert client.post(f"{AUDIT}saved-filters/{saved.pk}/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=saved.pk).exists()
    # The same name is free for another person.
    assert save(client, AUDIT, "Rejections", "action__exact=adjustment_rejected").status_code == 302
    assert SavedFilter.objects.count() == 2


@pytest.mark.parametrize(("name", "query", "field", "message"), [
    ("", "bucket__exact=pending", "name", "Give the filter a name."),
    ("x" * 81, "bucket__exact=pending", "name", "at most 80 characters"),
    ("Odd", "bucket__exact=pending&colour=red", "query", "not filters of this list: colour"),
    ("Odd", "created_at_from=31/12/2024", "query", "not valid for this list"),
])
def test_invalid_filters_are_refused_beside_the_field(client, people, story, name, query, field,
                                                      message):
    as_user(client, people["auditor"])
    response = save(client, LEDGER, name, query)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in " ".join(errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not SavedFilter.objects.exists()


def test_a_name_is_used_once_per_list_whatever_its_case(client, people, story):
    as_user(client, people["auditor"])
    assert save(client, EVENTS, "Pending", "state__exact=pending").status_code == 302
    response = save(client, EVENTS, "pending", "state__exact=cancelled")
    assert "already have a filter called" in " ".join(response.context["form"].errors["name"])
    assert list(SavedFilter.objects.values_list("query", flat=True)) == ["state__exact=pending"]


@pytest.mark.django_db(transaction=True)
def test_export_is_audited_outside_any_test_transaction(client, make_staff, member):
    """As in production, with no transaction around the request: the export is audited and
    committed before its rows stream."""
    as_user(client, make_staff("finance", "Finance auditor"))
    rows = read_csv(client.get(f"{EVENTS}export/"), "reward-events")
    assert [r["Transaction id"] for r in rows] == ["ctx-seed"]
    assert AuditEntry.objects.filter(action="csv_exported", actor_name="finance").count() == 1
