"""The user services refuse on their own what the admin's forms refuse, so no other caller (a
command, a future view) can grant more than the admin does."""

import threading

import pytest
from django.contrib.auth.models import User
from django.db import close_old_connections

from rewards.models import AuditEntry
from staff.services import (
    UserManagementError,
    user_create,
    user_deactivate,
    user_password_reset_send,
    user_profile_update,
    user_reactivate,
    user_roles_set,
)
from tests.support.staff import user_state

Action = AuditEntry.Action


@pytest.mark.django_db
@pytest.mark.parametrize(("call", "message"), [
    (lambda s: user_roles_set(actor=s["admin"], user_id=s["admin"].pk, roles=["Approver"]),
     "your own roles"),
    (lambda s: user_roles_set(actor=s["admin"], user_id=s["operator"].pk, roles=["Approver"]),
     "only an operator"),
    (lambda s: user_roles_set(actor=s["admin"], user_id=s["agent"].pk, roles=["superuser"]),
     "Unknown role"),
    (lambda s: user_deactivate(actor=s["admin"], user_id=s["admin"].pk), "your own account"),
    (lambda s: user_deactivate(actor=s["admin"], user_id=s["operator"].pk), "only an operator"),
    (lambda s: user_reactivate(actor=s["admin"], user_id=s["agent"].pk), "already active"),
    (lambda s: user_profile_update(actor=s["admin"], user_id=s["operator"].pk, first_name="x",
                                   last_name="", email="operator@example.test"), "only an operator"),
    (lambda s: user_profile_update(actor=s["admin"], user_id=s["agent"].pk, first_name="",
                                   last_name="", email="mine@example.test"), "only an operator"),
    (lambda s: user_create(actor=s["admin"], username="twin", email="AGENT@example.test",
                           roles=["Approver"]), "already used by another account"),
    (lambda s: user_create(actor=s["admin"], username="Agent", email="a2@example.test",
                           roles=["Approver"]), "already taken"),
    (lambda s: user_create(actor=s["admin"], username="nobody", email="n@example.test", roles=[]),
     "at least one role"),
    (lambda s: user_create(actor=s["agent"], username="puppet", email="p@example.test",
                           roles=["Approver"]), "may not create users"),
    (lambda s: user_roles_set(actor=s["approver"], user_id=s["agent"].pk, roles=["Approver"]),
     "may not manage users"),
    (lambda s: user_password_reset_send(actor=s["admin"], user_id=s["operator"].pk,
                                        domain="testserver", use_https=True), "only an operator"),
    (lambda s: user_deactivate(actor=s["admin"], user_id=10**9), "does not exist"),
], ids=["own-roles", "operator-roles", "unknown-role", "self-deactivate", "operator-deactivate",
        "reactivate-active", "operator-profile", "email-of-account-in-use", "duplicate-email",
        "duplicate-username", "no-role", "agent-creates", "approver-manages",
        "operator-reset-link", "missing-user"])
def test_the_services_refuse_on_their_own(staff, call, message):
    before = {key: user_state(user.pk) for key, user in staff.items()}
    users = User.objects.count()
    with pytest.raises(UserManagementError, match=message):
        call(staff)
    assert {key: user_state(user.pk) for key, user in staff.items()} == before
    assert User.objects.count() == users


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_administrators_racing_for_one_address_make_one_account(staff):
    """The existence check passes for both; the unique index decides, and the loser gets a
    message, not a server error."""
    barrier = threading.Barrier(2)
    outcomes = {}

    def create(actor, username):
        try:
            barrier.wait(timeout=10)
            user_create(actor=actor, username=username, email="shared@example.test",
                        roles=["Approver"])
            outcomes[username] = "created"
        except UserManagementError as exc:
            outcomes[username] = str(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=create, args=(staff["admin"], "first")),
               threading.Thread(target=create, args=(staff["admin2"], "second"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == [
        "The email address shared@example.test is already used by another account.", "created"]
    assert User.objects.filter(email__iexact="shared@example.test").count() == 1
    assert AuditEntry.objects.filter(action=Action.USER_CREATED).count() == 1
