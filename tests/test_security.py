"""Security by default: login everywhere, production settings, brute-force protection, CSP."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import get_resolver, reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.urlwalk import iter_patterns, sample_path

BASE_DIR = Path(settings.BASE_DIR)
PUBLIC_URL_NAMES = {"login", "admin:login"}


ALL_ROUTES = sorted({(route, name) for route, name, _ in iter_patterns(get_resolver())}, key=str)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), ALL_ROUTES, ids=[r for r, _ in ALL_ROUTES])
def test_anonymous_is_sent_to_a_login_page_on_every_url(client, route, name):
    response = client.get(sample_path(route))
    if name in PUBLIC_URL_NAMES:
        # The only pages open to anonymous visitors: the login pages.
        assert response.status_code == 200
        return
    # Either redirected to a login page, or the URL does not exist for these sample args (never content).
    if response.status_code == 302:
        assert response["Location"].startswith((reverse("login"), reverse("admin:login"))), response[
            "Location"
        ]
    else:
        assert response.status_code == 404, f"{route} answered {response.status_code} to an anonymous visitor"


def test_every_url_walk_covers_the_app():
    names = {name for _, name in ALL_ROUTES}
    assert {"home", "login", "logout", "partners:service_detail", "admin:index"} <= names


@pytest.mark.django_db
def test_login_page_is_public_and_in_french(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'lang="fr"' in response.content.decode()
    assert "Adresse électronique" in response.content.decode()


@pytest.mark.django_db
def test_user_logs_in_with_email_case_insensitively(client):
    user = UserFactory(email="camille@exemple.fr")
    response = client.post(reverse("login"), {"username": "Camille@Exemple.FR", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.wsgi_request.user == user


@pytest.mark.django_db
def test_wrong_password_gets_a_french_message(client):
    UserFactory(email="camille@exemple.fr")
    response = client.post(reverse("login"), {"username": "camille@exemple.fr", "password": "mauvais"})
    assert response.status_code == 200
    assert "Adresse électronique ou mot de passe incorrect." in response.content.decode()


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_even_with_the_right_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(email="camille@exemple.fr")
    for _ in range(3):
        client.post(reverse("login"), {"username": "camille@exemple.fr", "password": "mauvais"})
    response = client.post(reverse("login"), {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_pages_carry_a_strict_content_security_policy(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def run_manage(*args, env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-production-secret-key-that-is-long-and-random-enough-0123456789-abcdef",
    "DJANGO_ALLOWED_HOSTS": "reseau.exemple.fr",
}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = dict(PRODUCTION_ENV)
    del env["DJANGO_SECRET_KEY"]
    result = run_manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
