from django.core.management.base import BaseCommand

from reseau.mail.services import mail_send_due


class Command(BaseCommand):
    help = "Envoie les courriels en attente dont la prochaine tentative est due (filet de sécurité, cron)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Compter sans envoyer.")

    def handle(self, *args, dry_run=False, **options):
        counts = mail_send_due(dry_run=dry_run)
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in sorted(counts.items())))
