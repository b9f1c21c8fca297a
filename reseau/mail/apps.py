from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "reseau.mail"
    label = "mail"
    verbose_name = "Courriels"
