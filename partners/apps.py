from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = "annuaire et conventions"

    def ready(self):
        from . import reference_lists, signals  # noqa: F401  (signals: reference lists, search index)
