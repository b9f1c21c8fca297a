from django.conf import settings
from django.core.management.base import BaseCommand

from referrals.services import cases_purge


class Command(BaseCommand):
    help = (
        "Efface les situations clôturées depuis plus que la durée de conservation ; garde les statistiques."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien effacer.")

    def handle(self, *args, dry_run=False, **options):
        totals = cases_purge(dry_run=dry_run)
        prefix = "[simulation] " if dry_run else ""
        self.stdout.write(
            f"{prefix}{totals['cases']} situation(s) et {totals['referrals']} orientation(s) effacées "
            f"(conservation : {settings.CASE_RETENTION_MONTHS} mois)."
        )
