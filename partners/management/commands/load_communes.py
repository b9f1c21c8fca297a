from pathlib import Path

from django.core.management.base import BaseCommand

from partners.communes import DEFAULT_PATH, load_communes


class Command(BaseCommand):
    help = "Charge ou met à jour les communes françaises et leurs codes postaux (data/communes_fr.csv.gz)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            type=Path,
            default=DEFAULT_PATH,
            help=f"Fichier CSV compressé des communes (par défaut : {DEFAULT_PATH}).",
        )

    def handle(self, *args, path, **options):
        counts = load_communes(path=path)
        self.stdout.write(
            self.style.SUCCESS(
                "Communes : {communes} dans le fichier, {created} créées, {updated} mises à jour, "
                "{unchanged} inchangées. Codes postaux : {postcodes} dans le fichier, "
                "{postcodes_created} ajoutés, {postcodes_deleted} supprimés.".format(**counts)
            )
        )
