"""A refused request gets a page that says why, names the person's roles and links back."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from loyalty_backoffice.dashboard.errors import permission_denied

pytestmark = pytest.mark.django_db


def test_a_page_outside_the_role_gets_the_styled_403_with_a_way_back(client, make_staff):
    client.force_login(make_staff("agent", "Support agent"))
    response = client.get(
        "/admin/rewards/auditentry/", headers={"referer": "http://testserver/admin/accounts/member/"}
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert 'id="permission-denied"' in html and "Your role does not allow this page or action." in html
    assert "Your role: Support agent." in html
    assert 'href="http://testserver/admin/accounts/member/" id="denied-back"' in html


def test_a_reason_given_is_shown_and_a_foreign_referer_is_not_linked(make_staff):
    request = RequestFactory().get("/admin/x/", headers={"referer": "https://evil.example/phish"})
    request.user = make_staff("auditor", "Finance auditor")
    response = permission_denied(request, PermissionDenied("Only the maker can cancel a request."))
    html = response.content.decode()
    assert response.status_code == 403
    assert "Only the maker can cancel a request." in html and "evil.example" not in html
    assert 'href="/admin/" id="denied-back"' in html
