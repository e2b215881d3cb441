"""An Administrator never sets a password: they send the account's owner a reset link, which
works once and only for that owner's mailbox."""

import re
import socket

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import NoReverseMatch, reverse

from rewards.models import AuditEntry
from staff.services import user_create
from tests.support.pages import messages_of
from tests.support.staff import audit_entries

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
LINK = re.compile(r"http://testserver(/account/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def newcomer(staff):
    return user_create(actor=staff["admin"], username="newcomer", email="newcomer@example.test",
                       roles=["Approver"])


@pytest.fixture
def as_admin(client, staff):
    client.force_login(staff["admin"])
    return client


def reset_url(user) -> str:
    return f"/admin/auth/user/{user.pk}/password-reset/"


def test_the_owner_sets_their_password_through_the_link(as_admin, staff, newcomer):
    page = as_admin.get(reset_url(newcomer))
    assert page.status_code == 200 and "newcomer@example.test" in page.content.decode()
    assert mail.outbox == []  # the confirmation page sends nothing

    response = as_admin.post(reset_url(newcomer), follow=True)
    assert "A password reset link was sent to newcomer@example.test." in messages_of(response)
    [email] = mail.outbox
    assert email.to == ["newcomer@example.test"]
    assert "administrator asked" in email.body and "newcomer" in email.body
    link = LINK.search(email.body).group(1)

    [entry] = audit_entries(Action.USER_PASSWORD_RESET_REQUESTED)
    assert entry.actor == staff["admin"] and entry.ip_address == "127.0.0.1"
    assert entry.data["user"] == {"id": newcomer.pk, "username": "newcomer"}
    assert link.split("/")[-2] not in str(entry.data)  # the token is not kept

    owner = Client()
    form_page = owner.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = owner.post(form_page.redirect_chain[-1][0], {
        "new_password1": "Blue-Harbour-47", "new_password2": "Blue-Harbour-47"}, follow=True)
    assert done.status_code == 200 and done.redirect_chain[-1][0] == "/account/reset/done/"
    newcomer.refresh_from_db()
    assert newcomer.check_password("Blue-Harbour-47")

    signed_in = owner.post("/admin/login/", {"username": "newcomer", "password": "Blue-Harbour-47"})
    assert signed_in.status_code == 302 and owner.get("/admin/").status_code == 200

    # The link worked once.
    assert not Client().get(link, follow=True).context["validlink"]


def test_no_link_for_a_deactivated_account(as_admin, staff, newcomer):
    as_admin.post(f"/admin/auth/user/{newcomer.pk}/deactivate/")
    response = as_admin.post(reset_url(newcomer), follow=True)
    assert "newcomer is deactivated: reactivate the account first." in messages_of(response)
    assert mail.outbox == []
    assert audit_entries(Action.USER_PASSWORD_RESET_REQUESTED) == []


def test_no_link_for_an_account_without_an_address(as_admin, staff):
    User.objects.filter(pk=staff["agent"].pk).update(email="")
    response = as_admin.post(reset_url(staff["agent"]), follow=True)
    assert "agent has no email address to send the link to." in messages_of(response)
    assert mail.outbox == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_link_that_could_not_be_sent_is_audited_and_explained(as_admin, settings, newcomer):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    response = as_admin.post(reset_url(newcomer), follow=True)
    [message] = messages_of(response)
    assert message.startswith("The link could not be sent to newcomer@example.test:")
    requested, failed = audit_entries(Action.USER_PASSWORD_RESET_REQUESTED,
                                      Action.USER_PASSWORD_RESET_FAILED)
    assert (requested.action, failed.action) == (Action.USER_PASSWORD_RESET_REQUESTED,
                                                 Action.USER_PASSWORD_RESET_FAILED)
    assert failed.data["user"]["id"] == newcomer.pk and "failed" in failed.comment


def test_there_is_no_public_page_to_request_a_link(client):
    with pytest.raises(NoReverseMatch):
        reverse("admin_password_reset")
    assert "Forgotten your password" not in client.get("/admin/login/").content.decode()
    assert client.get("/account/password_reset/").status_code == 404
