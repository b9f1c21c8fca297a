from django.core.management.base import BaseCommand

from partners.models import Network
from referrals.insight_counts import counts_rebuild


class Command(BaseCommand):
    help = (
        "Recalcule les comptes de l'analyse des réseaux à partir des orientations (en cours et archivées). "
        "À lancer après un import en masse ou une correction des dates d'adhésion aux conventions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reseau", type=int, action="append", dest="networks", help="Identifiant d'un réseau."
        )

    def handle(self, *args, networks=None, **options):
        if networks:
            unknown = set(networks) - set(
                Network.objects.filter(pk__in=networks).values_list("pk", flat=True)
            )
            if unknown:
                self.stderr.write(f"Réseau inconnu : {', '.join(map(str, sorted(unknown)))}.")
                return
        read = counts_rebuild(networks)
        self.stdout.write(f"{read} orientation(s) comptée(s) à nouveau.")
