from django.core.management.base import BaseCommand

from reseau.mail.services import mail_send_digests


class Command(BaseCommand):
    help = (
        "Envoie à chaque personne qui l'a choisi le récapitulatif quotidien de ses courriels de suivi (cron)."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"récapitulatifs envoyés : {mail_send_digests()}")
