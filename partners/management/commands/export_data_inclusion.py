from django.core.management.base import BaseCommand, CommandError

from partners.data_inclusion import export_data_inclusion


class Command(BaseCommand):
    help = (
        "Exporte l'annuaire saisi dans Réseau au schéma data·inclusion v1 : structures.json et services.json "
        "dans le dossier DIR (source « reseau »)."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="dossier où écrire les deux fichiers")

    def handle(self, *args, directory, **options):
        try:
            report = export_data_inclusion(directory)
        except OSError as error:
            raise CommandError(f"Export impossible dans {directory} : {error.strerror}.") from error
        for line in report.summary():
            self.stdout.write(line)
