"""The adjustment list: the approver's queue, finance's filters, totals and the CSV export."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from accounts.models import Member
from rewards.models import Adjustment, AuditEntry
from rewards.services.adjustments import adjustment_approve, adjustment_cancel, adjustment_reject
from tests.support.adjustments import make_request
from tests.support.pages import as_user, messages_of

pytestmark = pytest.mark.django_db

LIST = "/admin/rewards/adjustment/"
EXPORT = "/admin/rewards/adjustment/export/"


def test_urls_are_where_the_links_point():
    assert reverse("admin:rewards_adjustment_changelist") == LIST
    assert reverse("admin:rewards_adjustment_export") == EXPORT


def listed(response) -> list[int]:
    assert response.status_code == 200, response.content[:500]
    return [a.pk for a in response.context["cl"].result_list]


@pytest.fixture
def book(people, member, settings):
    """Five adjustments in various states, made on different days by different people."""
    settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE = {"points": Decimal("1000")}
    now = timezone.now()
    made = {}
    made["old_credit"] = make_request(people["agent"], member, amount="10.00")
    adjustment_reject(adjustment_id=made["old_credit"].pk, approver=people["approver"], comment="no")
    made["cashback"] = make_request(people["agent2"], member, account_type="cashback", amount="5.50")
    made["debit"] = make_request(people["agent"], member, direction="debit", amount="20.00")
    made["big"] = make_request(people["agent2"], member, amount="2000.00", reason_code="dispute",
                               reason_text="=HYPERLINK(\"http://x\")")
    adjustment_approve(adjustment_id=made["big"].pk, approver=people["approver2"], comment="checked, ok")
    made["mine"] = make_request(people["lead"], member, account_type="miles", amount="1.00")
    days = {"old_credit": 10, "cashback": 5, "debit": 3, "big": 2, "mine": 1}
    for name, age in days.items():
        Adjustment.objects.filter(pk=made[name].pk).update(created_at=now - timedelta(days=age))
    return {name: Adjustment.objects.get(pk=a.pk) for name, a in made.items()}


def test_approver_queue_lists_what_waits_for_me_oldest_first(client, people, book):
    as_user(client, people["approver"])
    ids = listed(client.get(LIST, {"queue": "mine"}))
    assert ids == [book["cashback"].pk, book["debit"].pk, book["big"].pk, book["mine"].pk]
    # approver2 already approved "big" (1 of 2): not in their queue any more.
    as_user(client, people["approver2"])
    assert book["big"].pk not in listed(client.get(LIST, {"queue": "mine"}))
    # lead made "mine": never in lead's own queue.
    as_user(client, people["lead"])
    assert book["mine"].pk not in listed(client.get(LIST, {"queue": "mine"}))


def test_queue_is_linked_from_the_index_and_the_list_for_approvers_only(client, people, book):
    as_user(client, people["approver"])
    index = client.get(reverse("admin:index")).content.decode()
    assert f"{LIST}?queue=mine" in index
    page = client.get(LIST).content.decode()
    assert "Waiting for my approval (4)" in page
    for role in ("agent", "auditor"):
        as_user(client, people[role])
        assert "?queue=mine" not in client.get(reverse("admin:index")).content.decode()
        assert "Waiting for my approval" not in client.get(LIST).content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"state__exact": "rejected"}, ["old_credit"]),
        ({"account_type": "cashback"}, ["cashback"]),
        ({"direction__exact": "debit"}, ["debit"]),
        ({"reason_code__exact": "dispute"}, ["big"]),
        ({"maker__id__exact": "MAKER_agent2"}, ["big", "cashback"]),
        ({"approver": "APPROVER_approver2"}, ["big"]),
        ({"created_at_from": "DAYS_AGO_5", "created_at_to": "DAYS_AGO_2"}, ["big", "debit", "cashback"]),
        ({"created_at_to": "DAYS_AGO_4"}, ["cashback", "old_credit"]),
        ({"q": "usr-1"}, ["mine", "big", "debit", "cashback", "old_credit"]),
    ],
)
def test_finance_filters(client, people, book, params, expected):
    today = timezone.localdate()
    resolved = {}
    for key, value in params.items():
        if value.startswith("MAKER_") or value.startswith("APPROVER_"):
            value = str(people[value.split("_", 1)[1]].pk)
        elif value.startswith("DAYS_AGO_"):
            value = (today - timedelta(days=int(value.rsplit("_", 1)[1]))).isoformat()
        resolved[key] = value
    response = as_user(client, people["auditor"]).get(LIST, resolved)
    assert listed(response) == [book[name].pk for name in expected]


def test_search_by_adjustment_number(client, people, book):
    response = as_user(client, people["auditor"]).get(LIST, {"q": f"#{book['debit'].pk}"})
    assert book["debit"].pk in listed(response)
    assert listed(client.get(LIST, {"q": "9" * 40})) == []  # no overflow, just no match


def test_invalid_date_is_refused_not_ignored(client, people, book):
    response = as_user(client, people["auditor"]).get(LIST, {"created_at_from": "yesterday"})
    assert response.status_code == 302 and "e=1" in response["Location"]


def test_totals_per_account_type_and_direction_of_the_filtered_set(client, people, book):
    response = as_user(client, people["auditor"]).get(LIST)
    totals = {(t.account_type, t.direction): t for t in response.context["totals"]}
    assert set(totals) == {("points", "credit"), ("points", "debit"), ("cashback", "credit"),
                           ("miles", "credit")}
    points = totals[("points", "credit")]
    assert (points.count, points.amount, points.succeeded_count) == (2, Decimal("2010.00"), 0)
    assert totals[("cashback", "credit")].amount == Decimal("5.50")
    html = response.content.decode()
    assert 'id="adjustment-totals"' in html and "2010.00" in html
    filtered = client.get(LIST, {"state__exact": "pending_approval", "account_type": "points"})
    assert [(t.direction, t.amount) for t in filtered.context["totals"]] == [
        ("credit", Decimal("2000.00")), ("debit", Decimal("20.00"))]


def test_totals_are_one_query(people, book, django_assert_num_queries):
    from rewards.selectors import adjustment_totals

    with django_assert_num_queries(1):
        adjustment_totals(queryset=Adjustment.objects.filter(state="pending_approval"))


def read_csv(response, name="adjustments") -> list[dict]:
    assert response.status_code == 200
    assert response.streaming  # a StreamingHttpResponse: rows are sent as they are read
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs for UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8").removeprefix("\ufeff"))))


def test_csv_export_has_every_column_one_approval_per_column(client, people, book, settings):
    settings.TIME_ZONE = "America/Sao_Paulo"
    Member.objects.filter(pk=book["big"].member_id).update(name="João Ñúñez")  # UTF-8 survives
    as_user(client, people["auditor"])
    rows = read_csv(client.get(EXPORT))
    assert [int(r["Id"]) for r in rows] == [book[n].pk for n in ("mine", "big", "debit", "cashback",
                                                                  "old_credit")]
    big = next(r for r in rows if int(r["Id"]) == book["big"].pk)
    approval = book["big"].approvals.get()
    local = ZoneInfo("America/Sao_Paulo")
    assert big == {
        "Id": str(book["big"].pk),
        "Created at (America/Sao_Paulo)":
            book["big"].created_at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S"),
        "Member": "João Ñúñez",
        "Member user id": "usr-1",
        "Card id": "crd-1",
        "Account type": "points",
        "Direction": "credit",
        "Amount": "2000.00",
        "Reason code": "dispute",
        "Reason text": "'=HYPERLINK(\"http://x\")",  # a formula is neutralised for spreadsheets
        "State": "pending_approval",
        "Maker": "agent2",
        "Approvals required": "2",
        "Approver 1": "approver2",
        "Approved at 1 (America/Sao_Paulo)":
            approval.created_at.astimezone(local).strftime("%Y-%m-%d %H:%M:%S"),
        "Approval comment 1": "checked, ok",
        "Approver 2": "",
        "Approved at 2 (America/Sao_Paulo)": "",
        "Approval comment 2": "",
        "Approved at (America/Sao_Paulo)": "",
        "Completed at (America/Sao_Paulo)": "",
        "Pomelo status": "",
        "Pomelo reference": "",
        "Idempotency key": book["big"].idempotency_key,
        "Failure reason": "",
    }
    old = next(r for r in rows if int(r["Id"]) == book["old_credit"].pk)
    assert old["State"] == "rejected" and old["Completed at (America/Sao_Paulo)"]


def test_csv_export_second_approval_in_its_own_columns(client, people, book):
    adjustment_approve(adjustment_id=book["big"].pk, approver=people["approver"], comment="fine")
    as_user(client, people["auditor"])
    big = next(r for r in read_csv(client.get(EXPORT)) if int(r["Id"]) == book["big"].pk)
    first, second = book["big"].approvals.order_by("created_at", "id")
    assert (big["Approver 1"], big["Approval comment 1"]) == ("approver2", "checked, ok")
    assert big["Approved at 1 (UTC)"] == first.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert (big["Approver 2"], big["Approval comment 2"]) == ("approver", "fine")
    assert big["Approved at 2 (UTC)"] == second.created_at.strftime("%Y-%m-%d %H:%M:%S")


def test_csv_export_respects_the_lists_filters_and_is_audited(client, people, book):
    as_user(client, people["auditor"])
    today = timezone.localdate()
    params = {"account_type": "points", "created_at_from": (today - timedelta(days=4)).isoformat(),
              "o": "1"}
    rows = read_csv(client.get(EXPORT, params))
    assert sorted(int(r["Id"]) for r in rows) == sorted([book["debit"].pk, book["big"].pk])
    entry = AuditEntry.objects.get(action="csv_exported")
    assert entry.actor == people["auditor"] and entry.ip_address == "127.0.0.1"
    assert entry.data == {"export": "adjustments", "filters": params,
                          "query": urlencode(params)}


def test_export_button_carries_the_filters(client, people, book):
    as_user(client, people["auditor"])
    html = client.get(LIST, {"account_type": "points", "p": "1"}).content.decode()
    assert f'href="{EXPORT}?account_type=points"' in html


def test_export_streams_in_chunks(client, people, member, monkeypatch):
    monkeypatch.setattr("loyalty_backoffice.dashboard.toolkit.csv_export.CSV_ROWS_PER_CHUNK", 2)
    for n in range(3):
        a = make_request(people["agent"], member, amount=f"{n + 1}.00")
        adjustment_cancel(adjustment_id=a.pk, maker=people["agent"])
    as_user(client, people["auditor"])
    response = client.get(EXPORT)
    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    assert len(chunks) == 2  # header + 3 rows, two lines per chunk
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0][0] == "Id"


@pytest.mark.parametrize("role", ["agent", "approver"])
def test_export_needs_the_permission(client, people, book, role):
    as_user(client, people[role])
    assert client.get(EXPORT).status_code == 403
    assert 'id="export-csv"' not in client.get(LIST).content.decode()
    assert not AuditEntry.objects.filter(action="csv_exported").exists()


def test_export_with_invalid_filters_exports_nothing(client, people, book):
    as_user(client, people["auditor"])
    response = client.get(EXPORT, {"created_at_to": "31/12/2024"}, follow=True)
    assert any("Nothing was exported" in m for m in messages_of(response))
    assert not AuditEntry.objects.filter(action="csv_exported").exists()


def test_date_range_filter_uses_the_current_time_zone(client, people, member, settings):
    settings.TIME_ZONE = "America/Argentina/Buenos_Aires"
    adjustment = make_request(people["agent"], member)
    # 01:30 UTC on 2 March is still 1 March in Buenos Aires (UTC-3).
    moment = datetime(2025, 3, 2, 1, 30, tzinfo=UTC)
    Adjustment.objects.filter(pk=adjustment.pk).update(created_at=moment)
    as_user(client, people["auditor"])
    assert listed(client.get(LIST, {"created_at_from": "2025-03-01", "created_at_to": "2025-03-01"})) \
        == [adjustment.pk]
    assert listed(client.get(LIST, {"created_at_from": "2025-03-02"})) == []
