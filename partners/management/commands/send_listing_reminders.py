from django.core.management.base import BaseCommand, CommandError

from partners.services import listing_reminders_send


class Command(BaseCommand):
    help = (
        "Envoie « Votre fiche est-elle toujours exacte ? », avec un lien personnel, aux services actifs "
        "non vérifiés depuis 11 mois et sans rappel depuis 12 mois (à lancer chaque jour ; rejouable)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien envoyer.")
        parser.add_argument("--batch-size", type=int, default=200, help="Services par transaction.")

    def handle(self, *args, dry_run=False, batch_size=200, **options):
        if batch_size < 1:
            raise CommandError("--batch-size doit être un entier positif.")
        counts = listing_reminders_send(dry_run=dry_run, batch_size=batch_size)
        if dry_run:
            self.stdout.write(f"{counts['due']} service(s) à relancer (simulation : aucun courriel envoyé).")
        else:
            self.stdout.write(
                f"{counts['sent']} rappel(s) envoyé(s) sur {counts['due']} service(s) à relancer."
            )
