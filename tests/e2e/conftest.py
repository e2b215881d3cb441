"""Real-browser tests: Debian's Chromium driven by Playwright against a live server and the
stand-in Pomelo. On failure each test leaves a screenshot and the page's HTML in
test-artifacts/e2e/."""

import os
import re
from pathlib import Path

import pytest

from tests.support.ci import IN_CI
from tests.support.webhooks import notification_body

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
# Playwright's sync API runs an event loop in this thread; our ORM calls in the test body
# are synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        yield browser
        browser.close()


class Staff:
    """One person's browser session in the back office."""

    def __init__(self, browser, live_server, username, request):
        self.context = browser.new_context(accept_downloads=True, viewport={"width": 1366, "height": 900})
        self.page = self.context.new_page()
        # Generous: the suite runs beside other heavy jobs, and a timeout is not what it tests.
        self.page.set_default_timeout(45_000)
        self.base = live_server.url
        self.username = username
        self.request = request

    def login(self):
        self.page.goto(f"{self.base}/admin/login/")
        self.page.fill("#id_username", self.username)
        self.page.fill("#id_password", f"pw-{self.username}")
        self.page.click("#login-form [type=submit]")
        # The home computes its tiles and charts: give a loaded machine time to answer.
        self.page.wait_for_url(re.compile(r"/admin/$"), timeout=60_000)
        return self

    def goto(self, path):
        self.page.goto(f"{self.base}{path}")
        return self.page

    def close(self):
        node = self.request.node
        failed = any(getattr(getattr(node, f"report_{when}", None), "failed", False)
                     for when in ("setup", "call"))
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            stem = ARTIFACTS / f"{node.name}-{self.username}"
            try:
                self.page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(self.page.content())
            except Exception as exc:  # keep the original failure visible
                print(f"could not save artifacts for {stem}: {exc}")
        self.context.close()


@pytest.fixture
def staff(browser, live_server, make_staff, request):
    """`staff("agent", "Support agent")` → a logged-in browser session for a new user."""
    sessions = []

    def open_session(username, role):
        make_staff(username, role)
        session = Staff(browser, live_server, username, request)
        sessions.append(session)
        return session.login()

    yield open_session
    for session in sessions:
        session.close()


@pytest.fixture
def member_with_points(webhook, sandbox_pomelo):
    """usr-1 / crd-1 (last four 4242) with 100.00 points, at Pomelo and in our ledger."""
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    response = webhook.post("confirmation", notification_body(
        "confirmation", "ctx-seed", amount="100.00", card_last_four="4242"))
    assert response.status_code == 200
    from accounts.models import Member

    return Member.objects.get(pomelo_user_id="usr-1")
