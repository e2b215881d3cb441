"""Each staff member reads the back office in the language they chose (staff.services)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from staff.models import UserPreference
from staff.selectors import user_language
from staff.services import UserManagementError, user_language_set
from tests.support.pages import as_user

pytestmark = pytest.mark.django_db


def test_a_language_of_the_settings_is_recorded_and_blank_means_the_default(make_staff):
    user = make_staff("agent", "Support agent")
    assert user_language(user=user) == ""
    user_language_set(user=user, language="pt-BR")
    assert user_language(user=user) == "pt-br"
    user_language_set(user=user, language="")
    assert user_language(user=user) == ""
    assert UserPreference.objects.filter(user=user).count() == 1


def test_an_unknown_language_is_refused_and_changes_nothing(make_staff):
    user = make_staff("agent", "Support agent")
    user_language_set(user=user, language="es")
    with pytest.raises(UserManagementError, match="fr"):
        user_language_set(user=user, language="fr")
    assert user_language(user=user) == "es"


def test_each_person_gets_the_pages_in_their_own_language(client, make_staff):
    spanish, english = make_staff("agent", "Support agent"), make_staff("agent2", "Support agent")
    user_language_set(user=spanish, language="es")
    home = reverse("admin:index")

    page = as_user(client, spanish).get(home, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.headers["Content-Language"] == "es"
    assert '<html lang="es"' in page.content.decode()
    assert "Cerrar sesión" in page.content.decode()  # Django's own catalogue: "Log out"

    # No choice: LANGUAGE_CODE, whatever the browser asks for.
    page = as_user(client, english).get(home, HTTP_ACCEPT_LANGUAGE="es")
    assert page.headers["Content-Language"] == "en-us"
    assert "Log out" in page.content.decode()
    assert "Cerrar sesión" not in page.content.decode()


def test_the_language_page_saves_a_choice_and_the_next_page_follows_it(client, make_staff):
    user = make_staff("auditor", "Finance auditor")
    as_user(client, user)
    url = reverse("admin:preferences")
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="pt-br"' in page.content.decode()

    response = client.post(url, {"language": "pt-br"})
    assert response.status_code == 302
    assert user_language(user=user) == "pt-br"
    page = client.get(response.headers["Location"])
    assert page.headers["Content-Language"] == "pt-br"
    assert "Encerrar sessão" in page.content.decode()  # Django's own catalogue: "Log out"


def test_the_language_page_refuses_an_unknown_code_beside_the_field(client, make_staff):
    user = make_staff("agent", "Support agent")
    user_language_set(user=user, language="es")
    page = as_user(client, user).post(reverse("admin:preferences"), {"language": "xx"})
    assert page.status_code == 200
    assert page.context["form"].errors["language"]
    assert "xx" in page.context["form"].errors["language"][0]
    assert user_language(user=user) == "es"


def test_the_user_menu_links_to_the_language_page(client, make_staff):
    page = as_user(client, make_staff("agent", "Support agent")).get(reverse("admin:index"))
    assert f'href="{reverse("admin:preferences")}"' in page.content.decode()


def test_the_sign_in_page_follows_the_browser(client):
    page = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="es")
    assert page.headers["Content-Language"] == "es"


def test_the_choice_is_read_once_per_session_and_a_change_applies_at_once(client, make_staff):
    user = make_staff("agent", "Support agent")
    user_language_set(user=user, language="es")
    as_user(client, user)
    home = reverse("admin:index")
    assert client.get(home).headers["Content-Language"] == "es"

    with CaptureQueriesContext(connection) as queries:
        assert client.get(home).headers["Content-Language"] == "es"
    assert not [q for q in queries.captured_queries if "staff_userpreference" in q["sql"]]

    client.post(reverse("admin:preferences"), {"language": "pt-br"})
    assert client.get(home).headers["Content-Language"] == "pt-br"


def test_the_language_page_names_each_language_in_itself(client, make_staff):
    user = make_staff("agent", "Support agent")
    user_language_set(user=user, language="es")
    page = as_user(client, user).get(reverse("admin:preferences")).content.decode()
    for name in ("English", "Español", "Português"):
        assert name in page
