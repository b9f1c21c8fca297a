"""Errors a person can read: French 400, 403, 404, 405 and 500 pages in the site's layout, a way back,
the right status codes, nothing leaked; the 500 page renders without the database."""

import contextlib
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connections
from django.http import HttpResponseNotAllowed
from django.template import loader
from django.test import Client
from django.urls import path, reverse
from django.utils.html import escape

from reseau.urls import urlpatterns as site_urlpatterns
from tests.factories import DEFAULT_PASSWORD, CaseFactory, UserFactory

HOME_LINK = '<a class="button" href="/">Retour à l\'accueil</a>'
NAV = 'aria-label="Menu principal"'


# --- A URL conf with views that fail (used with @pytest.mark.urls(__name__)) ------------------------


def raise_bare_permission_denied(request):
    raise PermissionDenied


def raise_an_unexpected_error(request):
    raise RuntimeError("secret détail interne : /srv/reseau/settings.py")


def answer_405_with_its_own_content(request):
    return HttpResponseNotAllowed(["POST"], content=b"contenu propre")


urlpatterns = [
    *site_urlpatterns,
    path("essai/interdit/", raise_bare_permission_denied),
    path("essai/plantage/", raise_an_unexpected_error),
    path("essai/405/", answer_405_with_its_own_content),
]


@pytest.fixture(autouse=True)
def _debug_off(settings):
    # Error pages are what production shows: DEBUG off (pytest-django's default, made explicit).
    settings.DEBUG = False


def assert_french_error_page(response, status, heading):
    content = response.content.decode()
    assert response.status_code == status, content
    assert response["Content-Type"].startswith("text/html")
    assert '<html lang="fr">' in content
    assert f"<h1>{heading}</h1>" in content
    assert f"Erreur {status}" in content
    assert HOME_LINK in content  # the way back
    assert 'class="site-header"' in content and 'class="site-footer"' in content  # the site's layout
    return content


# --- 404 --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_gets_a_french_404_page_in_the_layout_for_an_unknown_address(client_for):
    response = client_for(UserFactory(worker=True)).get("/cette-page-n-existe-pas/")

    content = assert_french_error_page(response, 404, "Page introuvable")
    assert NAV in content  # logged in: the menu stays, to go anywhere from here


@pytest.mark.django_db
def test_anonymous_gets_a_404_page_that_shows_nothing_of_the_app(client):
    response = client.get("/admin-secret/<b>injecté</b>/")

    content = assert_french_error_page(response, 404, "Page introuvable")
    assert NAV not in content
    assert "Se déconnecter" not in content
    assert "admin-secret" not in content and "injecté" not in content  # the address is not echoed


@pytest.mark.django_db
def test_another_services_case_is_a_404_that_does_not_say_why(client_for):
    case = CaseFactory()
    response = client_for(UserFactory(worker=True)).get(reverse("referrals:case_detail", args=[case.pk]))

    content = assert_french_error_page(response, 404, "Page introuvable")
    assert "matches the given query" not in content
    assert "Case" not in content


# --- 403 --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_without_a_service_reads_the_french_reason_of_the_403(client_for):
    response = client_for(UserFactory()).get(reverse("referrals:case_list"))

    content = assert_french_error_page(response, 403, "Accès refusé")
    assert escape("Votre compte n'est rattaché à aucun service.") in content


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_403_without_a_reason_gets_a_general_french_text(client_for):
    response = client_for(UserFactory(worker=True)).get("/essai/interdit/")

    content = assert_french_error_page(response, 403, "Accès refusé")
    assert "Vous n'avez pas accès à cette page." in content


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_the_french_403_page_and_does_nothing():
    user = UserFactory(worker=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(reverse("logout"))

    content = assert_french_error_page(response, 403, "Formulaire expiré")
    assert NAV in content
    assert "CSRF" not in content  # Django's technical reason is not shown
    assert client.get(reverse("home")).status_code == 200  # still logged in


@pytest.mark.django_db
def test_a_stale_login_form_gets_the_french_403_page_without_the_menu():
    user = UserFactory(worker=True)
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD})

    content = assert_french_error_page(response, 403, "Formulaire expiré")
    assert NAV not in content
    assert "_auth_user_id" not in client.session


# --- 400 --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_for_an_unknown_host_gets_the_french_400_page(client):
    response = client.get(reverse("login"), HTTP_HOST="attaquant.example")

    content = assert_french_error_page(response, 400, "Requête incorrecte")
    assert "attaquant" not in content


# --- 405 --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_a_post_only_action_gets_the_french_405_page_with_its_allow_header(client_for):
    worker = UserFactory(worker=True)
    case = CaseFactory(service=worker.service)

    response = client_for(worker).get(reverse("referrals:case_close", args=[case.pk]))

    content = assert_french_error_page(response, 405, "Action non autorisée")
    assert response["Allow"] == "POST"
    assert NAV in content
    case.refresh_from_db()
    assert case.status != "closed"


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_405_with_its_own_content_is_left_alone(client_for):
    response = client_for(UserFactory(worker=True)).get("/essai/405/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.content == b"contenu propre"


# --- 500 --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database_unavailable():
    """Every query fails, as when the database server is down."""

    def refuse(*args, **kwargs):
        raise OperationalError("la base de données ne répond pas")

    wrapper_class = type(connections["default"])
    with (
        mock.patch.object(wrapper_class, "cursor", refuse),
        mock.patch.object(wrapper_class, "chunked_cursor", refuse),
        mock.patch.object(wrapper_class, "ensure_connection", refuse),
    ):
        yield


@pytest.mark.django_db
def test_the_500_page_renders_when_the_database_is_down():
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(worker=True))

    with database_unavailable():
        # Loading the session fails first; rendering the 500 page must not touch the database.
        response = client.get(reverse("home"))

    content = assert_french_error_page(response, 500, "Erreur du serveur")
    assert "OperationalError" not in content and "ne répond pas" not in content
    assert NAV not in content  # rendered without a user: no menu, no logout button


def test_the_500_template_needs_no_database_no_request_and_no_context_processor():
    with database_unavailable():
        content = loader.get_template("500.html").render()

    assert "<h1>Erreur du serveur</h1>" in content
    assert HOME_LINK in content


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_an_unexpected_error_gets_the_french_500_page_without_its_details(client_for):
    client = client_for(UserFactory(worker=True))
    client.raise_request_exception = False

    response = client.get("/essai/plantage/")

    content = assert_french_error_page(response, 500, "Erreur du serveur")
    assert "secret" not in content and "RuntimeError" not in content


# --- Logout -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_the_logout_address_shows_a_logout_button_and_keeps_the_user_logged_in(client_for):
    client = client_for(UserFactory(worker=True))

    response = client.get(reverse("logout"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Déconnexion</h1>" in content
    form = content[content.index('<div class="card card--narrow">') :]
    assert f'<form method="post" action="{reverse("logout")}"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<button type="submit" class="button">Se déconnecter</button>' in form
    assert client.get(reverse("home")).status_code == 200  # GET logs nobody out


@pytest.mark.django_db
def test_posting_the_logout_form_logs_out_and_goes_to_the_login_page(client_for):
    client = client_for(UserFactory(worker=True))

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_anonymous_opening_the_logout_address_is_sent_to_the_login_page(client):
    response = client.get(reverse("logout"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
