import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reseau.settings")

application = get_wsgi_application()

# The project once loaded (modules, models, URL patterns, the schema package's validators: about
# 100 000 objects) lives as long as the process. Frozen, the cyclic collector no longer walks it at
# each full collection: one took 70 to 100 ms on the bench machine and fell on one page in forty
# (measured with scripts/bench_search.py, which freezes the same way).
gc.collect()
gc.freeze()
