from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "annuaire et conventions"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import partnerships, reference_lists, signals  # noqa: F401  (signals: caches, search index)
        from .search_index import register_sqlite_functions

        connection_created.connect(register_sqlite_functions)
