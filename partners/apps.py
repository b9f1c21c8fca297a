from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "annuaire et conventions"

    def ready(self):
        from . import signals  # noqa: F401  (search-index maintenance)
