from django.core.management.base import BaseCommand

from partners.referentials import load_referentials
from partners.synonyms import load_synonyms

LABELS = {
    "Domain": "thématiques et catégories",
    "Public": "publics",
    "AccessMode": "modes d'accueil",
    "Fee": "frais",
    "ServiceType": "types de service",
    "Language": "langues",
}


class Command(BaseCommand):
    help = (
        "Charge ou met à jour les référentiels nationaux (schéma data·inclusion) et les ajouts locaux "
        "(langues, accueil à domicile) et les synonymes de recherche. Rejouable : les ajouts et désactivations locales sont conservés."
    )

    def handle(self, *args, **options):
        counts = load_referentials()
        for model, label in LABELS.items():
            self.stdout.write(
                f"{label} : {counts[model]['created']} créé(s), {counts[model]['updated']} mis à jour"
            )
        synonyms = load_synonyms()
        self.stdout.write(
            f"synonymes de recherche : {synonyms['created']} créé(s), {synonyms['kept']} déjà présent(s)"
        )
        self.stdout.write(self.style.SUCCESS("Référentiels chargés."))
