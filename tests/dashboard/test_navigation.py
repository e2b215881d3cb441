"""The sidebar: each role sees a link to every list it may open, and only links that open."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from kernel.roles import ROLES
from loyalty_backoffice.dashboard.navigation import sidebar_navigation
from tests.support.pages import as_user

pytestmark = pytest.mark.django_db


def _visible_links(user) -> set[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return {
        str(item["link"])
        for group in sidebar_navigation()
        for item in group["items"]
        if "permission" not in item or item["permission"](request)
    }


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_has_a_link_to_every_list_it_may_open_and_each_link_opens(client, make_staff, role):
    user = make_staff("someone", role)
    request = RequestFactory().get("/admin/")
    request.user = user
    lists = {
        model["admin_url"]
        for app in admin.site.get_app_list(request)
        for model in app["models"]
        if model.get("admin_url") and model["perms"].get("view")
    }
    links = _visible_links(user)
    assert lists <= {link.split("?")[0] for link in links}, lists - links
    as_user(client, user)
    for link in sorted(links):
        assert client.get(link).status_code == 200, link
