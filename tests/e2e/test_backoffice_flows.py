"""What staff do all day, in a real browser."""

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rewards.models import Adjustment, AuditEntry
from rewards.services.adjustments import adjustment_approve, adjustment_request
from tests.support.webhooks import notification_body

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def request_adjustment(page, *, direction, amount, reason="Customer complaint #123", above=False):
    page.get_by_role("link", name=f"Request {direction}").click()
    page.select_option("select[name=card]", index=1)
    page.select_option("select[name=account_type]", "points")
    page.fill("input[name=amount]", amount)
    page.select_option("select[name=reason_code]", "goodwill")
    page.fill("textarea[name=reason_text]", reason)
    if above:
        page.check("input[name=above_balance]")
    page.get_by_role("button", name=f"Request {direction}").click()


def approve_in_browser(approver, adjustment, comment="Checked the complaint"):
    page = approver.goto(f"/admin/rewards/adjustment/{adjustment.pk}/change/")
    page.get_by_role("link", name="Review").click()
    expect(page.locator("body")).to_contain_text("now → ")
    page.fill("textarea[name=comment]", comment)
    page.get_by_role("button", name="Approve").click()
    return page


def test_agent_finds_member_by_last_four_checks_pomelo_and_requests_credit(
    staff, member_with_points, sandbox_pomelo
):
    agent = staff("agent", "Support agent")
    page = agent.goto("/admin/accounts/member/")
    page.fill("#searchbar", "4242")
    page.press("#searchbar", "Enter")
    page.get_by_role("link", name="usr-1").click()

    page.get_by_role("button", name="Check balance at Pomelo").click()
    expect(page.locator("ul.messagelist")).to_contain_text("match our ledger")
    expect(page.locator("body")).to_contain_text("100.00")

    request_adjustment(page, direction="credit", amount="25.00")
    expect(page.locator("ul.messagelist")).to_contain_text("Nothing moves until an approver approves it")
    adjustment = Adjustment.objects.get()
    assert (adjustment.state, adjustment.amount, adjustment.maker.username) == (
        "pending_approval", Decimal("25.00"), "agent")
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("100.00")  # nothing moved yet


def test_maker_cannot_approve_and_an_approver_approves_through_the_confirmation_page(
    staff, member_with_points, sandbox_pomelo
):
    agent = staff("agent", "Support agent")
    page = agent.goto(f"/admin/accounts/member/{member_with_points.pk}/change/")
    request_adjustment(page, direction="credit", amount="25.00")
    adjustment = Adjustment.objects.get()

    page = agent.goto(f"/admin/rewards/adjustment/{adjustment.pk}/change/")
    expect(page.get_by_role("link", name="Review")).to_have_count(0)
    response = page.goto(f"{agent.base}/admin/rewards/adjustment/{adjustment.pk}/review/")
    assert response.status == 403

    approver = staff("approver", "Approver")
    page = approver.goto("/admin/rewards/adjustment/")
    page.get_by_role("link", name=re.compile(r"Waiting for my approval \(1\)")).click()
    expect(page.locator("#result_list")).to_contain_text("25.00")
    page = approve_in_browser(approver, adjustment)
    expect(page.locator("body")).to_contain_text("Succeeded")

    adjustment.refresh_from_db()
    assert adjustment.state == "succeeded"
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("125.00")

    page = approver.goto(f"/admin/accounts/member/{member_with_points.pk}/change/")
    expect(page.locator("body")).to_contain_text("125.00")
    timeline = page.locator("body")
    expect(timeline).to_contain_text(f"#{adjustment.pk}")

    page = approver.goto(f"/admin/rewards/auditentry/?adjustment__id__exact={adjustment.pk}")
    for step in ["Adjustment requested", "Approval given", "Submitting to Pomelo",
                 "Pomelo exchange", "Adjustment succeeded"]:
        expect(page.locator("#result_list")).to_contain_text(step)


def test_debit_above_the_balance_is_refused_with_a_readable_message(staff, member_with_points):
    agent = staff("agent", "Support agent")
    page = agent.goto(f"/admin/accounts/member/{member_with_points.pk}/change/")
    request_adjustment(page, direction="debit", amount="500.00")
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.locator("body")).to_contain_text(
        "Debit of 500.00 exceeds the available points balance of 100.00")
    assert not Adjustment.objects.exists()


def test_pomelo_down_keeps_the_submission_and_a_resume_applies_it_once(
    staff, member_with_points, sandbox_pomelo, make_staff
):
    maker = make_staff("maker", "Support agent")
    adjustment = adjustment_request(
        maker=maker, member=member_with_points, card=member_with_points.cards.get(),
        account_type="points", direction="credit", amount="40.00", reason_code="correction",
        reason_text="missing reward",
    )
    sandbox_pomelo.set_faults(fail_next=1000)
    approver = staff("approver", "Approver")
    page = approve_in_browser(approver, adjustment)
    expect(page.locator("ul.messagelist")).to_contain_text("its attempt failed and it will be sent again")
    expect(page.locator("#state-banner")).to_contain_text("Pomelo may or may not have applied it")
    expect(page.get_by_role("link", name="Retry")).to_have_count(0)
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 0

    # The lease of the failed attempt runs out (no worker runs in-process to resume it).
    sandbox_pomelo.clear_faults()
    adjustment.refresh_from_db()
    Adjustment.objects.filter(pk=adjustment.pk).update(lease_expires_at=adjustment.submitted_at)
    page.reload()
    page.get_by_role("link", name="Resume").click()
    expect(page.locator("body")).to_contain_text("A worker sends it again with the same idempotency key")
    page.fill("textarea[name=comment]", "Pomelo is back")
    page.get_by_role("button", name=f"Resume adjustment #{adjustment.pk}").click()
    expect(page.locator("ul.messagelist")).to_contain_text("resumed and applied at Pomelo")
    adjustment.refresh_from_db()
    assert adjustment.state == "succeeded" and adjustment.submit_attempts == 2
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("140.00")


def test_finance_auditor_filters_and_downloads_csv_and_can_change_nothing(
    staff, member_with_points, sandbox_pomelo, make_staff, django_capture_on_commit_callbacks
):
    maker, checker = make_staff("maker", "Support agent"), make_staff("checker", "Approver")
    common = dict(maker=maker, member=member_with_points, card=member_with_points.cards.get(),
                  account_type="points", reason_code="goodwill", reason_text="goodwill")
    done = adjustment_request(direction="credit", amount="10.00", **common)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_approve(adjustment_id=done.pk, approver=checker, comment="fine")
    waiting = adjustment_request(direction="debit", amount="5.00", **common)

    auditor = staff("auditor", "Finance auditor")
    page = auditor.goto("/admin/rewards/adjustment/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    # Below 1536 px unfold keeps the filters in a sheet opened by its "Filters" button.
    page.locator("a:has-text('Filters')").first.click()
    page.locator("#changelist-filter").get_by_role("link", name="Succeeded").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    content = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 1
    row = rows[0]
    assert row["Id"] == str(done.pk) and row["State"] == "succeeded"
    assert row["Amount"] == "10.00" and row["Maker"] == "maker"
    assert (row["Approver 1"], row["Approval comment 1"]) == ("checker", "fine")
    assert str(waiting.pk) not in {r["Id"] for r in rows}
    assert AuditEntry.objects.filter(action="csv_exported", actor__username="auditor").count() == 1

    # Nothing that changes anything is offered to finance.
    for path in ["/admin/rewards/adjustment/", f"/admin/rewards/adjustment/{waiting.pk}/change/",
                 f"/admin/accounts/member/{member_with_points.pk}/change/"]:
        page = auditor.goto(path)
        for name in ["Review", "Resume", "Decide outcome", "Cancel request", "Request credit",
                     "Request debit"]:
            expect(page.get_by_role("link", name=name)).to_have_count(0)
        expect(page.get_by_role("button", name="Check balance at Pomelo")).to_have_count(0)
        expect(page.locator("select[name=action]")).to_have_count(0)
        expect(page.locator("input[name=_save]")).to_have_count(0)
    response = page.goto(f"{auditor.base}/admin/rewards/adjustment/{waiting.pk}/review/")
    assert response.status == 403


PAGES_BY_ROLE = {
    "agent": ("Support agent", ["/admin/", "/admin/accounts/member/", "member",
                                "/admin/rewards/adjustment/", "/admin/rewards/adjustment/?made_by=me",
                                "/admin/preferences/"]),
    "approver": ("Approver", ["/admin/", "/admin/rewards/adjustment/?queue=mine", "member"]),
    "auditor": ("Finance auditor", ["/admin/", "/admin/rewards/adjustment/",
                                    "/admin/rewards/auditentry/", "/admin/webhooks/delivery/",
                                    "/admin/rewards/reconciliationrun/", "/admin/rewards/ledgerentry/",
                                    "/admin/rewards/rewardevent/"]),
    "administrator": ("Administrator", ["/admin/", "/admin/webhooks/delivery/", "/admin/auth/user/",
                                        "/admin/rewards/reconciliationrun/"]),
}
# `make screenshots` sets this to docs/screenshots to refresh the staff guide's pictures; a plain
# test run writes them to a temporary folder and leaves the working tree as it was.
GUIDE_SCREENSHOTS_DIR = os.environ.get("GUIDE_SCREENSHOTS_DIR", "")


@pytest.fixture
def demo_work(member_with_points, make_staff, webhook, sandbox_pomelo, live_server):
    """What `make run` gives each role to act on (sandbox.demo_scenarios), so the guide's
    pictures show the tiles with work in them: adjustments in each state, a failed and a
    flagged notification, a reconciliation with a drift."""
    import base64

    from django.conf import settings

    from sandbox.demo_scenarios import demo_scenarios_load

    sandbox_pomelo.add_member("usr-2", ["crd-2"], balances={"points": "300"})
    webhook.post("confirmation", notification_body(
        "confirmation", "ctx-seed-2", amount="300.00", user="usr-2", card="crd-2"))
    api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
    staff = {name: make_staff(f"demo-{name}", role) for name, role in
             [("agent", "Support agent"), ("approver", "Approver"), ("approver2", "Approver")]}
    report = demo_scenarios_load(
        staff=staff, backoffice_url=live_server.url, pomelo_url=sandbox_pomelo.url,
        api_key=api_key, secret_b64=base64.b64encode(secret).decode(),
    )
    assert report.adjustments and report.deliveries and report.drifting
    return member_with_points


@pytest.mark.parametrize("language", ["es", "pt-br"])
def test_spanish_and_portuguese_pages_fit_1366_px_too(staff, demo_work, language):
    """Translations run longer than the English: every page of each role, in each language,
    chosen as a person would, on the Language page of the user menu."""
    member_with_points = demo_work
    for username, (role, paths) in PAGES_BY_ROLE.items():
        session = staff(f"{username}-{language}", role)
        page = session.goto("/admin/preferences/")
        page.select_option("select[name=language]", language)
        page.click(".submit-row [type=submit]")
        expect(page.locator("html")).to_have_attribute("lang", language)
        for path in paths:
            if path == "member":
                path = f"/admin/accounts/member/{member_with_points.pk}/change/"
            page = session.goto(path)
            assert page.locator("html").get_attribute("lang") == language
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{path} overflows 1366 px by {overflow} px for the {role} in {language}"


@pytest.mark.parametrize("username", list(PAGES_BY_ROLE))
def test_each_roles_pages_fit_1366_px_and_leave_screenshots_for_the_guide(
    staff, demo_work, username, tmp_path
):
    member_with_points = demo_work
    role, paths = PAGES_BY_ROLE[username]
    session = staff(username, role)
    screenshots = Path(GUIDE_SCREENSHOTS_DIR) if GUIDE_SCREENSHOTS_DIR else tmp_path
    screenshots.mkdir(parents=True, exist_ok=True)
    for number, path in enumerate(paths, start=1):
        if path == "member":
            path = f"/admin/accounts/member/{member_with_points.pk}/change/"
        page = session.goto(path)
        expect(page.locator("body")).not_to_contain_text("Server Error")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} overflows 1366 px by {overflow} px for the {role}"
        page.screenshot(path=str(screenshots / f"{username}-{number}.png"))
        assert (screenshots / f"{username}-{number}.png").stat().st_size > 0
