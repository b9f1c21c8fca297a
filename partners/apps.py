from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "annuaire et conventions"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import signals  # noqa: F401  (search-index maintenance)
        from .search_index import register_sqlite_functions

        connection_created.connect(register_sqlite_functions)
