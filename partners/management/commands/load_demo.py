from django.conf import settings
from django.core.management.base import BaseCommand

from partners.demo import load_demo


class Command(BaseCommand):
    help = (
        "Charge des données de démonstration autour de Rennes et de Saint-Malo (structures, services, "
        "réseaux, conventions) et des comptes de démonstration. Nécessite load_referentials et "
        "load_communes. Rejouable : l'annuaire n'est créé qu'une fois, les comptes sont remis à zéro."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Graine du générateur (défaut : 2026).")

    def handle(self, *args, seed, **options):
        result = load_demo(seed=seed)
        counts = result.counts
        summary = (
            f"{counts['organisations']} organisations, {counts['services']} services "
            f"({counts['stale_services']} non vérifiés depuis {settings.STALE_AFTER_MONTHS} mois), {counts['thematiques']} thématiques, "
            f"{counts['networks']} réseaux, {counts['conventions']} conventions, "
            f"{counts['memberships']} adhésions."
        )
        if result.created:
            self.stdout.write(self.style.SUCCESS(f"Données de démonstration créées : {summary}"))
        else:
            self.stdout.write(
                "Données de démonstration déjà présentes : annuaire inchangé, comptes remis à zéro.\n"
                f"Dans la base : {summary}"
            )

        rows = [("Courriel", "Rôle", "Service employeur")]
        rows += [(a.email, a.role, a.service or "—") for a in result.accounts]
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Comptes de démonstration"))
        for index, (email, role, service) in enumerate(rows):
            self.stdout.write(f"  {email:<{widths[0]}}  {role:<{widths[1]}}  {service}")
            if index == 0:
                self.stdout.write(f"  {'-' * widths[0]}  {'-' * widths[1]}  {'-' * 17}")
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Mot de passe de tous les comptes de démonstration : {result.password}")
        )
