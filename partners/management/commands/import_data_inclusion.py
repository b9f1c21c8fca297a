import sys
import time

from django.core.management.base import BaseCommand, CommandError

from partners.data_inclusion import DataInclusionFileError, import_data_inclusion


class TerminalProgress:
    """A one-line progress bar on a terminal, redrawn at most every ``interval`` seconds."""

    WIDTH = 30
    LABEL = 36

    def __init__(self, stream, interval=0.2):
        self.stream, self.interval, self.last = stream, interval, 0.0
        self.finished = set()  # phases drawn at 100 %: a file read to its end may still yield records

    def __call__(self, phase, done, total):
        now = time.monotonic()
        if phase in self.finished or (done < total and now - self.last < self.interval):
            return
        self.last = now
        share = done / total if total else 1
        filled = round(share * self.WIDTH)
        label = phase if len(phase) <= self.LABEL else phase[: self.LABEL - 1] + "…"
        self.stream.write(
            f"\r{label:<{self.LABEL}} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:4.0%}"
        )
        if done >= total:
            self.finished.add(phase)
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Importe des structures et services data·inclusion (schéma v1) depuis des fichiers JSON : "
        "liste d'enregistrements ou pages de l'API ({\"items\": [...]})."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="fichiers JSON à importer")
        parser.add_argument(
            "--deactivate-missing",
            metavar="SOURCE",
            help="désactive (sans supprimer) les services de cette source absents des fichiers (fichiers complets)",
        )
        parser.add_argument("--dry-run", action="store_true", help="simule l'import : rien n'est enregistré")
        parser.add_argument("--batch-size", type=int, default=500, help="enregistrements par transaction")
        parser.add_argument(
            "--compare-all",
            action="store_true",
            help="compare chaque enregistrement champ par champ, même identique au dernier import "
            "(rétablit les champs de l'import modifiés à la main)",
        )

    def handle(self, *args, paths, deactivate_missing, dry_run, batch_size, compare_all, **options):
        progress = TerminalProgress(sys.stderr) if sys.stderr.isatty() else None
        try:
            report = import_data_inclusion(
                paths,
                deactivate_missing=deactivate_missing,
                dry_run=dry_run,
                progress=progress,
                batch_size=max(batch_size, 1),
                compare_all=compare_all,
            )
        except DataInclusionFileError as error:
            raise CommandError(f"Import annulé, rien n'a été enregistré. {error}") from error
        for rejection in report.rejections:
            self.stdout.write(self.style.WARNING(str(rejection)))
        for warning in report.warnings:
            self.stdout.write(f"Remarque : {warning}")
        for line in report.summary():
            self.stdout.write(self.style.SUCCESS(line))
        if dry_run:
            self.stdout.write("Simulation (--dry-run) : rien n'a été enregistré.")
        if report.nothing_usable:  # a cron job must see it failed
            rejected = report.structures["rejected"] + report.services["rejected"]
            raise CommandError(f"Aucun enregistrement n'a pu être importé ({rejected} rejeté(s)).")
