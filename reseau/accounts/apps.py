from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "reseau.accounts"
    label = "accounts"
    verbose_name = "comptes"
