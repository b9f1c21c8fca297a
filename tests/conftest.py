import random

import pytest
from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.db.models.query import QuerySet


@pytest.fixture(autouse=True, scope="session")
def shuffle_unordered_querysets():
    """Results of a query without ORDER BY come back shuffled, so no test relies on insertion order."""
    original_fetch_all = QuerySet._fetch_all

    def fetch_all_shuffled(self):
        fresh = self._result_cache is None
        original_fetch_all(self)
        if fresh and not self.ordered and len(self._result_cache) > 1:
            random.shuffle(self._result_cache)

    QuerySet._fetch_all = fetch_all_shuffled
    yield
    QuerySet._fetch_all = original_fetch_all


class InvalidTemplateVariable(str):
    def __mod__(self, name):
        raise AssertionError(f"Unknown template variable: {name!r}")

    def __contains__(self, key):
        # Django checks "'%s' in string_if_invalid" before formatting.
        return key == "%s"


_templates_strict = {"on": None}


@pytest.fixture(autouse=True)
def fail_on_unknown_template_variables(request):
    """Our templates must not reference unknown variables (admin pages, Django's own, are exempt).

    The engines are rebuilt only when a test needs the other mode than the previous one: the option is
    switched in place and announced, so no test inherits the other mode from a cached engine.
    """
    strict = not request.node.get_closest_marker("allow_unknown_template_variables")
    if _templates_strict["on"] is not strict:
        options = django_settings.TEMPLATES[0]["OPTIONS"]
        if strict:
            options["string_if_invalid"] = InvalidTemplateVariable("%s")
        else:
            options.pop("string_if_invalid", None)
        setting_changed.send(sender=None, setting="TEMPLATES", value=django_settings.TEMPLATES, enter=True)
        _templates_strict["on"] = strict


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Password checks stay real, in microseconds instead of half a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_axes_lockout_between_tests(settings):
    # Each test starts with a clean brute-force counter; the lockout itself has its own test.
    settings.AXES_FAILURE_LIMIT = 5


@pytest.fixture
def client_for():
    """A logged-in test client for a user: ``client_for(user)``."""
    from django.test import Client

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _fresh_synonym_cache():
    # The synonym table lives in memory for a minute: a rolled-back test fires no signal to forget it.
    from partners.synonyms import forget_synonyms

    forget_synonyms()
    yield
    forget_synonyms()


@pytest.fixture(autouse=True)
def _fresh_partnerships_memory():
    # The partnerships live in memory while their token holds; a rolled-back test restores the token,
    # and SQLite then reuses the ids of the services it created.
    from partners import partnerships

    partnerships._memory = partnerships._Memory(None)
    yield


@pytest.fixture
def synonyms(db):
    """The seeded synonym table (partners/data/synonyms.csv), as load_referentials writes it."""
    from partners.synonyms import load_synonyms

    load_synonyms()
