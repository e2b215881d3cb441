"""The browser against the production server: gunicorn, DEBUG off, static files from
`collectstatic` served by WhiteNoise under hashed names."""

import re

import pytest

from tests.deploy.gunicorn_server import collectstatic, gunicorn_server, shared_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_staff_member_signs_in_and_the_admin_is_styled(browser, make_staff, tmp_path):
    make_staff("agent", "Support agent")
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
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))
        # The admin's stylesheet applied: the header has its colour, not the browser default.
        header_colour = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
        assert header_colour not in ("rgba(0, 0, 0, 0)", "transparent")
        stylesheets = page.evaluate("[...document.styleSheets].map(s => s.href).filter(Boolean)")
        assert any(re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", href) for href in stylesheets)
        page.goto(f"{server.url}/admin/accounts/member/")
        assert page.locator("#result_list, .paginator").first.is_visible()
        assert failed_assets == []
        context.close()
