"""Bulk credits in a real browser: an agent uploads a file and sees the preview, an approver
approves, the stand-in Pomelo shows every row applied once, finance downloads the result."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from accounts.models import Member
from bulk_adjustments.models import BulkBatch
from rewards.models import Adjustment, ChainAnchor
from tests.support.webhooks import notification_body

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MEMBERS = ("usr-1", "usr-2", "usr-3")


@pytest.fixture
def three_members(webhook, sandbox_pomelo, settings):
    # SQLite cannot take several writers at once; PostgreSQL runs the real concurrency.
    settings.BULK_ADJUSTMENT_SUBMIT_CONCURRENCY = 1 if connection.vendor == "sqlite" else 3
    for n, user in enumerate(MEMBERS, start=1):
        sandbox_pomelo.add_member(user, [f"crd-{n}"], balances={"points": "100"})
        response = webhook.post("confirmation", notification_body(
            "confirmation", f"ctx-seed-{n}", user=user, card=f"crd-{n}", amount="100.00"))
        assert response.status_code == 200
    return list(Member.objects.order_by("pomelo_user_id"))


def test_agent_uploads_approver_approves_pomelo_applies_each_row_once_finance_downloads(
    staff, three_members, sandbox_pomelo, tmp_path
):
    content = "\n".join([
        "pomelo_user_id,card_id,account_type,direction,amount,reason_code,reason_text",
        "usr-1,,points,credit,10.00,goodwill,Outage 27 November",
        ",crd-2,points,credit,20.00,goodwill,Outage 27 November",
        "usr-3,,points,debit,5.00,correction,Double credit",
        "usr-404,,points,credit,1.00,goodwill,Unknown member",
    ]) + "\n"
    upload = tmp_path / "outage.csv"
    upload.write_text(content, encoding="utf-8")

    agent = staff("agent", "Support agent")
    page = agent.goto("/admin/bulk_adjustments/bulkbatch/")
    page.get_by_role("link", name="Upload a CSV file").click()
    page.set_input_files("input[name=file]", str(upload))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#bulk-preview-summary")).to_contain_text("3 valid")
    expect(page.locator("#bulk-preview-summary")).to_contain_text("1 invalid")
    expect(page.locator("#bulk-invalid-rows")).to_contain_text("No member with Pomelo user id 'usr-404'")
    expect(page.locator("#bulk-totals")).to_contain_text("30.00")
    assert not BulkBatch.objects.exists()  # nothing kept before the confirmation
    page.get_by_role("button", name="Confirm and request approval").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Nothing moves until it is approved")
    batch = BulkBatch.objects.get()
    assert not Adjustment.objects.exists()

    approver = staff("approver", "Approver")
    page = approver.goto(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/change/")
    page.get_by_role("link", name="Review").click()
    page.fill("textarea[name=comment]", "Outage compensation agreed with the campaign team")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#bulk-state")).to_have_text("Approved")
    page.reload()
    expect(page.locator("#bulk-progress")).to_contain_text("3 of 3 rows settled (100%)")

    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("110.00")
    assert sandbox_pomelo.balances("usr-2")["points"] == Decimal("120.00")
    assert sandbox_pomelo.balances("usr-3")["points"] == Decimal("95.00")
    adjustments = list(Adjustment.objects.all())
    assert len(adjustments) == 3 and all(a.state == "succeeded" for a in adjustments)
    for adjustment in adjustments:
        assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1

    finance = staff("finance", "Finance auditor")
    page = finance.goto(f"/admin/bulk_adjustments/bulkbatch/{batch.pk}/change/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download result CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(r["line"], r["outcome"]) for r in rows] == [
        ("2", "succeeded"), ("3", "succeeded"), ("4", "succeeded"), ("5", "invalid")]
    assert {r["idempotency_key"] for r in rows[:3]} == {a.idempotency_key for a in adjustments}

    # The download is a finance export: it anchored the chain heads, and finance sees the anchor.
    anchor = ChainAnchor.objects.get(reason=ChainAnchor.Reason.EXPORT)
    assert anchor.note == f"bulk batch #{batch.pk} result CSV"
    page = finance.goto("/admin/")
    integrity = page.locator("#chain-status")
    expect(integrity).to_contain_text("Finance export")
    expect(integrity).to_contain_text(anchor.digest)
