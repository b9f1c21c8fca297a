"""pytest plugin, loaded with ``-p reseau.pytest_plugin`` (pyproject.toml): the test suite runs the
development configuration, whatever the shell exports.

Production fails closed (DEBUG off by default, a real secret key and DJANGO_SITE_URL required), so
the settings would refuse to load in a fresh shell. pytest imports ``-p`` plugins before
pytest-django loads the settings, which a conftest.py is too late for. The production configuration
is tested in subprocesses (tests/test_security.py); pytest-django still runs each test with DEBUG off.
"""

import os

os.environ["DJANGO_DEBUG"] = "true"
# Tasks (e-mails) run inline, in the test's own transaction: what DJANGO_TASKS_IMMEDIATE=true is for.
os.environ["DJANGO_TASKS_IMMEDIATE"] = "true"
