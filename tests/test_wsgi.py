"""The WSGI entry point freezes the loaded project out of the cyclic collector's full collections."""

import os
import subprocess
import sys


def test_the_loaded_project_is_frozen():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "reseau.settings", "DJANGO_DEBUG": "true"}
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, reseau.wsgi; print(gc.get_freeze_count())"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(frozen) > 10_000  # the modules, models and URL patterns, not a handful
