"""Sign-in throttling: repeated failures lock that username out from that address (never from
another), the lockout is audited once, and Administrators see and lift it in the admin."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from rewards.models import AuditEntry
from tests.support.staff import audit_entries

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
LOGIN = "/admin/login/"
LOCKED = "Too many failed sign-ins"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=30)
    settings.CLIENT_IP_TRUSTED_PROXY_COUNT = 0


def sign_in(client, username, password, address, **headers):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=address, **headers)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def lock_out(username="agent", address="10.0.0.1"):
    client = Client()
    for attempt in range(3):
        response = sign_in(client, username, f"wrong-{attempt}", address)
    assert response.status_code == 429
    return response


def test_failures_lock_that_username_out_from_that_address_only(staff):
    client = Client()
    for attempt in range(2):
        response = sign_in(client, "agent", f"wrong-{attempt}", "10.0.0.1")
        assert response.status_code == 200 and LOCKED not in response.content.decode()
    third = sign_in(client, "agent", "wrong-2", "10.0.0.1")
    assert third.status_code == 429 and LOCKED in third.content.decode()
    assert "Try again in 30 minutes" in third.content.decode()

    # The right password is refused too, with the same explanation.
    right = sign_in(client, "agent", "pw-agent", "10.0.0.1")
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert not signed_in(client)

    # Another address is not locked, nor is another username at the locked address.
    elsewhere = Client()
    assert sign_in(elsewhere, "agent", "pw-agent", "10.0.0.2").status_code == 302
    assert signed_in(elsewhere)
    colleague = Client()
    assert sign_in(colleague, "approver", "pw-approver", "10.0.0.1").status_code == 302
    assert signed_in(colleague)


def test_a_lockout_is_audited_once_without_the_password(staff):
    lock_out()
    client = Client()
    for _ in range(4):  # hammering during the lockout adds nothing to the trail
        sign_in(client, "agent", "Secret-Guess-1", "10.0.0.1")
    [entry] = audit_entries(Action.LOGIN_LOCKED_OUT)
    assert entry.ip_address == "10.0.0.1" and entry.actor is None
    assert entry.data == {"username": "agent", "user_id": staff["agent"].pk, "failures": 3}
    assert "agent" in entry.comment
    text = f"{entry.comment} {entry.data}"
    assert "wrong" not in text and "Secret-Guess" not in text


def test_an_unknown_username_is_locked_and_audited_too(staff):
    lock_out(username="no-such-person")
    [entry] = audit_entries(Action.LOGIN_LOCKED_OUT)
    assert entry.data["username"] == "no-such-person" and entry.data["user_id"] is None


def test_the_lockout_ends_after_the_cool_off(staff):
    lock_out()
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=31))
    client = Client()
    assert sign_in(client, "agent", "pw-agent", "10.0.0.1").status_code == 302


def test_a_forged_forwarded_for_header_does_not_change_the_address(staff):
    client = Client()
    for attempt in range(3):
        response = sign_in(client, "agent", f"wrong-{attempt}", "10.0.0.1",
                           HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.1"}


def test_behind_our_proxy_the_address_is_what_the_proxy_saw(settings, staff):
    settings.CLIENT_IP_TRUSTED_PROXY_COUNT = 1
    client = Client()
    for attempt in range(3):
        # The caller writes the left-most entries; our proxy appends the address it saw.
        response = sign_in(client, "agent", f"wrong-{attempt}", "10.0.0.1",
                           HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}, 203.0.113.9")
    assert response.status_code == 429
    [entry] = audit_entries(Action.LOGIN_LOCKED_OUT)
    assert entry.ip_address == "203.0.113.9"
    other = Client()
    assert sign_in(other, "agent", "pw-agent", "10.0.0.1",
                   HTTP_X_FORWARDED_FOR="203.0.113.9, 203.0.113.10").status_code == 302


def test_an_administrator_sees_the_lockout_and_unlocks_it(client, staff):
    lock_out()
    client.force_login(staff["admin"])
    listing = client.get("/admin/axes/accessattempt/")
    html = listing.content.decode()
    assert listing.status_code == 200 and "agent" in html and "10.0.0.1" in html
    assert "Locked out" in html  # our message: django-axes' own "Locked Out" has no Spanish
    attempt = AccessAttempt.objects.get()
    detail = client.get(f"/admin/axes/accessattempt/{attempt.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert client.post(f"/admin/axes/accessattempt/{attempt.pk}/change/",
                       {"failures_since_start": "0"}).status_code == 403
    assert client.get("/admin/axes/accesslog/").status_code == 200

    response = client.post("/admin/axes/accessattempt/", {
        "action": "unlock", "_selected_action": [attempt.pk]}, follow=True)
    assert response.status_code == 200
    assert not AccessAttempt.objects.exists()
    [entry] = audit_entries(Action.LOGIN_UNLOCKED)
    assert entry.actor == staff["admin"]
    assert entry.data == {"username": "agent", "address": "10.0.0.1", "failures": 3}

    person = Client()
    assert sign_in(person, "agent", "pw-agent", "10.0.0.1").status_code == 302


def test_unlocking_from_the_delete_page_is_audited_too(client, staff):
    lock_out()
    client.force_login(staff["admin"])
    attempt = AccessAttempt.objects.get()
    client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.exists()
    assert len(audit_entries(Action.LOGIN_UNLOCKED)) == 1


def test_other_roles_do_not_see_lockouts(client, staff):
    lock_out()
    for role in ("agent", "approver", "auditor"):
        client.force_login(staff[role])
        assert client.get("/admin/axes/accessattempt/").status_code == 403
