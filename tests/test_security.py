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
# Opened without an account by a personal link: with a made-up token they open nothing.
LINK_URL_NAMES = {
    "referrals:answer_link",
    "referrals:answer_link_action",
    "referrals:answer_link_renew",
    "partners:listing_link",
    "partners:listing_link_confirm",
    "partners:listing_link_renew",
}


ALL_ROUTES = sorted({(route, name) for route, name, _ in iter_patterns(get_resolver())}, key=str)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "name"), ALL_ROUTES, ids=[r for r, _ in ALL_ROUTES])
def test_anonymous_is_sent_to_a_login_page_on_every_url(client, route, name):
    response = client.get(sample_path(route))
    if name in PUBLIC_URL_NAMES:
        # The only pages open to anonymous visitors: the login pages.
        assert response.status_code == 200
        return
    if name in LINK_URL_NAMES:
        assert response.status_code in {404, 405}, f"{route} answered {response.status_code}"
        assert "Erreur 40" in response.content.decode()
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
    "DJANGO_SITE_URL": "https://reseau.exemple.fr",
}


def production_env(**changes):
    """PRODUCTION_ENV with some variables changed; ``None`` removes one."""
    env = {**PRODUCTION_ENV, **changes}
    return {name: value for name, value in env.items() if value is not None}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_set_on():
    env = production_env(DJANGO_DEBUG=None)
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env_overrides=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_without_debug_the_app_refuses_to_start_with_the_development_defaults():
    # A fresh shell: DJANGO_DEBUG unset, so no dev key and no dev site URL either.
    result = run_manage("check", env_overrides={})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env_overrides=production_env(DJANGO_SECRET_KEY=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "short-but-not-empty-0123456789",  # under 50 characters
        "django-insecure-" + "a-long-development-key-0123456789-abcdefghijklmnop",  # Django's dev prefix
        "ab" * 30,  # 60 characters, 2 different ones
    ],
    ids=["short", "django-insecure", "few-characters"],
)
def test_production_refuses_to_start_with_a_weak_secret_key(key):
    result = run_manage("check", env_overrides=production_env(DJANGO_SECRET_KEY=key))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is too weak" in result.stderr
    assert key not in result.stderr  # the key itself is never printed


def test_production_refuses_to_start_without_a_site_url():
    result = run_manage("check", env_overrides=production_env(DJANGO_SITE_URL=None))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SITE_URL must be set when DJANGO_DEBUG is false" in result.stderr


def test_a_site_url_that_is_not_an_address_is_refused():
    result = run_manage("check", env_overrides=production_env(DJANGO_SITE_URL="reseau.exemple.fr"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SITE_URL must be an absolute http(s) address" in result.stderr


def test_development_runs_with_debug_on_and_its_defaults():
    code = "from django.conf import settings; print(settings.DEBUG, settings.SITE_URL)"
    result = run_manage("shell", "--no-imports", "-c", code, env_overrides={"DJANGO_DEBUG": "true"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True http://127.0.0.1:8000"


def test_the_makefile_turns_debug_on_for_its_development_targets():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        ["make", "--no-print-directory", "--eval", "print-debug: ; @echo $$DJANGO_DEBUG", "print-debug"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "true"


def test_the_test_suite_runs_whatever_the_shell_exports():
    """pytest loads the settings before any conftest.py: reseau.pytest_plugin turns DEBUG on first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_DEBUG"] = "false"  # and no secret key, no site URL
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/test_security.py"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_the_test_suite_runs_whatever_the_shell_exports" in result.stdout
