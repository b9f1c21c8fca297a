from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "reseau.links"
    label = "links"
    verbose_name = "Liens personnels"
