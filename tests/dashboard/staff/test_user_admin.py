"""User management in the admin: what an Administrator may do to accounts, and everything they
may not, through the form they are shown and through hand-made POSTs."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core import mail
from django.db import IntegrityError, transaction

from rewards.models import AuditEntry
from staff.services import user_create
from tests.support.pages import form_errors, messages_of
from tests.support.staff import audit_entries, user_state

pytestmark = pytest.mark.django_db

Action = AuditEntry.Action
LIST = "/admin/auth/user/"
ADD = "/admin/auth/user/add/"


def change_url(user) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


def profile_post(user, **extra) -> dict:
    """What the Administrator's change form posts for `user` unchanged, plus `extra`."""
    data = {
        "first_name": user.first_name, "last_name": user.last_name, "email": user.email,
        "roles": list(user.groups.values_list("name", flat=True)), "_save": "Save",
    }
    data.update(extra)
    return data


@pytest.fixture
def newcomer(staff):
    """An account an Administrator created and its owner has not used yet."""
    return user_create(actor=staff["admin"], username="newcomer", email="newcomer@example.test",
                       roles=["Support agent"])


@pytest.fixture
def as_admin(client, staff):
    client.force_login(staff["admin"])
    return client


# --- what the Administrator is shown ---------------------------------------------------------


def test_the_administrators_form_offers_names_email_and_the_four_roles_only(as_admin, staff):
    response = as_admin.get(change_url(staff["agent"]))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert set(form.fields) == {"first_name", "last_name", "email", "roles"}
    assert [value for value, _ in form.fields["roles"].choices] == [
        "Support agent", "Approver", "Finance auditor", "Administrator"]
    html = response.content.decode()
    for absent in ("is_superuser", "user_permissions", 'name="groups"', 'name="is_staff"',
                   "../password/", "password1"):
        assert absent not in html
    # The account's actions are offered as links to confirmation pages.
    assert f"/admin/auth/user/{staff['agent'].pk}/password-reset/" in html
    assert f"/admin/auth/user/{staff['agent'].pk}/deactivate/" in html


def test_the_add_form_asks_for_no_password(as_admin):
    response = as_admin.get(ADD)
    assert response.status_code == 200
    assert set(response.context["adminform"].form.fields) == {
        "username", "first_name", "last_name", "email", "roles"}
    html = response.content.decode()
    assert 'name="password1"' not in html and 'name="usable_password"' not in html


def test_own_roles_are_shown_but_cannot_be_changed(as_admin, staff):
    form = as_admin.get(change_url(staff["admin"])).context["adminform"].form
    assert form.fields["roles"].disabled
    assert f"/admin/auth/user/{staff['admin'].pk}/deactivate/" not in as_admin.get(
        change_url(staff["admin"])).content.decode()


def test_an_operators_account_is_view_only(as_admin, staff):
    response = as_admin.get(change_url(staff["operator"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html and "/deactivate/" not in html and "/password-reset/" not in html


# --- refused: hand-made POSTs of what the form does not offer --------------------------------


@pytest.mark.parametrize("tampering", [
    {"is_superuser": "on"},
    {"is_staff": "on"},
    {"is_active": ""},
    {"user_permissions": "PERMISSION"},
    {"groups": "OTHER_GROUP"},
    {"password": "md5$x$y"},
    {"password1": "Correct-Horse-9", "password2": "Correct-Horse-9"},
    {"usable_password": "true", "password1": "Correct-Horse-9", "password2": "Correct-Horse-9"},
], ids=["is_superuser", "is_staff", "is_active", "user_permissions", "groups", "password",
        "password1", "usable_password"])
def test_privileges_and_passwords_posted_to_the_change_form_are_refused(as_admin, staff, tampering):
    target = staff["agent"]
    other_group = Group.objects.create(name="Everything")
    other_group.permissions.set(Permission.objects.all())
    values = {"PERMISSION": str(Permission.objects.get(codename="approve_adjustment").pk),
              "OTHER_GROUP": str(other_group.pk)}
    tampering = {key: values.get(value, value) for key, value in tampering.items()}
    before = user_state(target.pk)

    response = as_admin.post(change_url(target), profile_post(target, **tampering))

    assert response.status_code == 200  # the form again, with the refusal
    assert any("cannot be set here" in error for error in form_errors(response))
    assert user_state(target.pk) == before


@pytest.mark.parametrize("tampering", [
    {"is_superuser": "on"}, {"is_staff": "on"}, {"groups": "1"}, {"user_permissions": "1"},
    {"password1": "Correct-Horse-9", "password2": "Correct-Horse-9"},
])
def test_privileges_and_passwords_posted_to_the_add_form_are_refused(as_admin, staff, tampering):
    before = (User.objects.count(), AuditEntry.objects.count())
    response = as_admin.post(ADD, {"username": "mallory", "email": "mallory@example.test",
                                   "roles": ["Support agent"], **tampering})
    assert response.status_code == 200
    assert any("cannot be set here" in error for error in form_errors(response))
    assert (User.objects.count(), AuditEntry.objects.count()) == before


def test_a_role_that_is_not_one_of_the_four_is_refused(as_admin, staff):
    Group.objects.create(name="Superpowers")
    target = staff["agent"]
    before = user_state(target.pk)
    response = as_admin.post(change_url(target), profile_post(target, roles=["Superpowers"]))
    assert response.status_code == 200
    assert any("Superpowers" in error for error in form_errors(response))
    assert user_state(target.pk) == before


def test_own_roles_cannot_be_changed_by_a_hand_made_post(as_admin, staff):
    me = staff["admin"]
    before = user_state(me.pk)
    response = as_admin.post(change_url(me), profile_post(me, roles=["Administrator", "Approver"]))
    assert response.status_code == 200
    assert any("your own roles" in error for error in form_errors(response))
    assert user_state(me.pk) == before
    # What a browser posts (the disabled roles are not sent) saves the name, keeps the roles.
    data = profile_post(me, first_name="Ada")
    del data["roles"]
    assert as_admin.post(change_url(me), data).status_code == 302
    me.refresh_from_db()
    assert me.first_name == "Ada" and list(me.groups.values_list("name", flat=True)) == ["Administrator"]


def test_an_operators_account_cannot_be_changed_deactivated_or_sent_a_link(as_admin, staff):
    operator = staff["operator"]
    before = user_state(operator.pk)
    assert as_admin.post(change_url(operator), {
        "first_name": "x", "email": "administrator@example.test", "roles": ["Support agent"],
    }).status_code == 403
    for action in ("deactivate", "password-reset", "reactivate"):
        assert as_admin.post(f"/admin/auth/user/{operator.pk}/{action}/").status_code == 403
    assert user_state(operator.pk) == before
    assert mail.outbox == []


def test_nobodys_password_can_be_set_by_an_administrator(as_admin, staff):
    target = staff["agent"]
    before = user_state(target.pk)
    url = f"/admin/auth/user/{target.pk}/password/"
    assert as_admin.get(url).status_code == 403
    assert as_admin.post(url, {"password1": "Correct-Horse-9", "password2": "Correct-Horse-9",
                               "usable_password": "true"}).status_code == 403
    assert user_state(target.pk) == before


def test_an_administrator_cannot_deactivate_themselves(as_admin, staff):
    me = staff["admin"]
    response = as_admin.post(f"/admin/auth/user/{me.pk}/deactivate/", follow=True)
    assert "You cannot deactivate your own account." in messages_of(response)
    me.refresh_from_db()
    assert me.is_active
    assert audit_entries(Action.USER_DEACTIVATED) == []


def test_an_administrator_cannot_delete_users(as_admin, staff):
    assert as_admin.post(f"/admin/auth/user/{staff['agent'].pk}/delete/", {"post": "yes"}).status_code == 403
    assert 'value="delete_selected"' not in as_admin.get(LIST).content.decode()
    assert User.objects.filter(pk=staff["agent"].pk).exists()


# --- refused: one email address for two accounts ----------------------------------------------


def test_a_new_account_with_someone_elses_email_is_refused(as_admin, staff):
    before = (User.objects.count(), AuditEntry.objects.count())
    response = as_admin.post(ADD, {"username": "shadow", "email": "OPERATOR@Example.test",
                                   "roles": ["Approver"]})
    assert response.status_code == 200
    assert any("already used by another account" in error for error in form_errors(response))
    assert (User.objects.count(), AuditEntry.objects.count()) == before


def test_an_existing_account_cannot_take_someone_elses_email(as_admin, newcomer, staff):
    before = user_state(newcomer.pk)
    response = as_admin.post(change_url(newcomer),
                             profile_post(newcomer, email="Operator@example.test"))
    assert any("already used by another account" in error for error in form_errors(response))
    assert user_state(newcomer.pk) == before


def test_the_email_of_an_account_in_use_is_changed_by_operators_only(as_admin, client, staff):
    target = staff["agent"]  # has a password: in use
    before = user_state(target.pk)
    response = as_admin.post(change_url(target), profile_post(target, email="elsewhere@example.test"))
    assert any("only an operator" in error for error in form_errors(response))
    assert user_state(target.pk) == before


def test_the_database_allows_one_account_per_email_address(staff):
    User.objects.create(username="first", email="same@example.test")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="second", email="SAME@example.test")
    # Accounts without an address are not constrained.
    User.objects.create(username="third", email="")
    User.objects.create(username="fourth", email="")


# --- allowed, and audited -----------------------------------------------------------------------


def test_an_administrator_creates_an_account_with_roles(as_admin, staff):
    response = as_admin.post(ADD, {
        "username": "nina", "first_name": "Nina", "last_name": "Ruiz",
        "email": "Nina@Example.TEST", "roles": ["Support agent", "Approver"], "_save": "Save",
    })
    nina = User.objects.get(username="nina")
    assert response.status_code == 302 and response.url.endswith(change_url(nina))
    assert nina.email == "Nina@example.test"  # the domain is case-insensitive
    assert nina.is_staff and nina.is_active and not nina.is_superuser
    assert not nina.has_usable_password()
    assert sorted(nina.groups.values_list("name", flat=True)) == ["Approver", "Support agent"]
    assert not nina.user_permissions.exists()
    [entry] = audit_entries(Action.USER_CREATED)
    assert entry.actor == staff["admin"] and entry.ip_address == "127.0.0.1"
    assert entry.data["user"] == {"id": nina.pk, "username": "nina"}
    assert entry.data["before"] is None
    assert entry.data["after"]["roles"] == ["Approver", "Support agent"]
    assert entry.data["after"]["is_superuser"] is False


def test_an_administrator_changes_roles_and_staff_status_follows(as_admin, staff):
    target = staff["agent"]
    response = as_admin.post(change_url(target), profile_post(target, roles=["Approver"]))
    assert response.status_code == 302
    target.refresh_from_db()
    assert list(target.groups.values_list("name", flat=True)) == ["Approver"]
    [entry] = audit_entries(Action.USER_ROLES_CHANGED)
    assert (entry.actor, entry.data["user"]["id"]) == (staff["admin"], target.pk)
    assert (entry.data["before"]["roles"], entry.data["after"]["roles"]) == (["Support agent"],
                                                                             ["Approver"])
    # No role: no staff access.
    data = profile_post(target)
    del data["roles"]
    as_admin.post(change_url(target), data)
    target.refresh_from_db()
    assert not target.is_staff and not target.groups.exists()
    assert audit_entries(Action.USER_ROLES_CHANGED)[-1].data["after"]["is_staff"] is False


def test_other_groups_given_by_an_operator_are_kept(as_admin, staff):
    target = staff["agent"]
    target.groups.add(Group.objects.create(name="Pilot users"))
    as_admin.post(change_url(target), profile_post(target, roles=["Finance auditor"]))
    assert sorted(target.groups.values_list("name", flat=True)) == ["Finance auditor", "Pilot users"]


def test_an_administrator_fixes_the_email_of_an_account_not_used_yet(as_admin, newcomer):
    response = as_admin.post(change_url(newcomer), profile_post(newcomer, email="new@example.test"))
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.email == "new@example.test"
    [entry] = audit_entries(Action.USER_CHANGED)
    assert (entry.data["before"]["email"], entry.data["after"]["email"]) == (
        "newcomer@example.test", "new@example.test")


def test_deactivate_and_reactivate_through_confirmation_pages(as_admin, client, staff):
    target = staff["agent"]
    other = client.__class__()
    other.force_login(target)
    assert other.get("/admin/").status_code == 200

    page = as_admin.get(f"/admin/auth/user/{target.pk}/deactivate/")
    assert page.status_code == 200 and "Deactivate agent?" in page.content.decode()
    target.refresh_from_db()
    assert target.is_active  # a GET changes nothing

    response = as_admin.post(f"/admin/auth/user/{target.pk}/deactivate/", follow=True)
    assert "agent is deactivated." in messages_of(response)
    target.refresh_from_db()
    assert not target.is_active
    assert other.get("/admin/").status_code == 302  # their session is over

    as_admin.post(f"/admin/auth/user/{target.pk}/reactivate/")
    target.refresh_from_db()
    assert target.is_active
    deactivated, reactivated = audit_entries(Action.USER_DEACTIVATED, Action.USER_REACTIVATED)
    assert (deactivated.action, deactivated.from_state, deactivated.to_state) == (
        Action.USER_DEACTIVATED, "active", "inactive")
    assert deactivated.data["user"] == {"id": target.pk, "username": "agent"}
    assert (reactivated.action, reactivated.data["after"]["is_active"]) == (Action.USER_REACTIVATED, True)


# --- operators keep full power, audited -----------------------------------------------------


def test_an_operator_uses_djangos_full_form_and_is_audited(client, staff):
    client.force_login(staff["operator"])
    target = staff["agent"]
    form = client.get(change_url(target)).context["adminform"].form
    assert {"is_superuser", "user_permissions", "groups"} <= set(form.fields)
    response = client.post(change_url(target), {
        "username": "agent", "email": "agent@example.test", "is_active": "on", "is_staff": "on",
        "is_superuser": "on", "groups": [Group.objects.get(name="Approver").pk],
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "_save": "Save",
    })
    assert response.status_code == 302, form_errors(response)
    target.refresh_from_db()
    assert target.is_superuser
    [entry] = audit_entries(Action.USER_CHANGED)
    assert entry.actor == staff["operator"]
    assert (entry.data["before"]["is_superuser"], entry.data["after"]["is_superuser"]) == (False, True)
    assert entry.data["after"]["roles"] == ["Approver"]


def test_an_operator_too_cannot_give_two_accounts_one_email(client, staff):
    client.force_login(staff["operator"])
    response = client.post(ADD, {"username": "twin", "email": "OPERATOR@example.test",
                                 "usable_password": "false"})
    assert response.status_code == 200
    assert any("already used by another account" in error for error in form_errors(response))
    assert not User.objects.filter(username="twin").exists()


def test_an_operator_sets_a_password_and_it_is_audited(client, staff):
    client.force_login(staff["operator"])
    target = staff["agent"]
    response = client.post(f"/admin/auth/user/{target.pk}/password/", {
        "password1": "Correct-Horse-9", "password2": "Correct-Horse-9", "usable_password": "true"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.check_password("Correct-Horse-9")
    [entry] = audit_entries(Action.USER_PASSWORD_SET)
    assert entry.actor == staff["operator"] and "Correct-Horse-9" not in str(entry.data)


def test_other_roles_cannot_open_user_management(client, staff):
    for role in ("agent", "approver", "auditor"):
        client.force_login(staff[role])
        assert client.get(LIST).status_code == 403
        assert client.post(f"/admin/auth/user/{staff['agent'].pk}/deactivate/").status_code == 403


def test_the_user_list_filters_by_role_named_by_its_label(client, people):
    client.force_login(people["admin"])
    approvers = Group.objects.get(name="Approver")
    response = client.get(LIST, {"groups__id__exact": str(approvers.pk)})
    assert response.status_code == 200
    listed = {user.username for user in response.context["cl"].result_list}
    assert listed == set(approvers.user_set.values_list("username", flat=True)) and listed
    role_filter = next(f for f in response.context["cl"].filter_specs if f.title == "roles")
    assert (str(approvers.pk), "Approver") in role_filter.lookup_choices
    assert client.get(LIST, {"groups__id__exact": "x"}).context["cl"].result_count == 0
