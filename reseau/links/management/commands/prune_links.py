from django.core.management.base import BaseCommand

from reseau.links.services import links_prune


class Command(BaseCommand):
    help = "Efface les liens personnels expirés depuis 30 jours et les compteurs de requêtes passés (cron, quotidien)."

    def handle(self, *args, **options):
        counts = links_prune()
        self.stdout.write(f"liens effacés : {counts['links']}, compteurs effacés : {counts['counters']}")
