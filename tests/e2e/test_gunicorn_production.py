"""The browser against the production server: gunicorn, DEBUG off, static files from
`collectstatic` served by WhiteNoise under hashed names."""

import re

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.deploy.gunicorn_server import collectstatic, gunicorn_server, shared_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_staff_member_signs_in_and_the_admin_is_styled(browser, make_staff, tmp_path):
    agent = make_staff("agent", "Support agent")
    # The tests hash passwords with a fast hasher the production server does not accept.
    hasher = PBKDF2PasswordHasher()
    agent.password = hasher.encode("pw-agent", hasher.salt())
    agent.save(update_fields=["password"])
    collectstatic(tmp_path / "static")
    with gunicorn_server(static_root=tmp_path / "static", database_url=shared_database_url(),
                         log=tmp_path / "gunicorn.log") as server:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        failed_assets = []
        page.on("response", lambda r: failed_assets.append(r.url) if r.status >= 400 else None)
        page.goto(f"{server.url}/admin/login/")
        page.fill("#id_username", "agent")
        page.fill("#id_password", "pw-agent")
        page.click("#login-form [type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"), timeout=60_000)
        # The theme's stylesheet applied (under its hashed name): the page is laid out by it, so
        # the body has the theme's font, not the browser default.
        stylesheets = page.evaluate("[...document.styleSheets].map(s => s.href).filter(Boolean)")
        theme = r"/static/unfold/.+\.[0-9a-f]{12}\.css$"
        assert any(re.search(theme, href) for href in stylesheets), stylesheets
        font = page.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Inter" in font, font
        members = page.goto(f"{server.url}/admin/accounts/member/")
        assert members.ok and "member" in page.title().lower(), page.title()
        assert failed_assets == []
        context.close()
