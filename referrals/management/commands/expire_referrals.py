from django.conf import settings
from django.core.management.base import BaseCommand

from referrals.services import referrals_expire, referrals_remind


class Command(BaseCommand):
    help = "Expire puis relance les orientations envoyées restées sans réponse (à lancer chaque jour)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien modifier.")

    def handle(self, *args, dry_run=False, **options):
        # Expired first: a referral past its deadline gets no reminder.
        expired = referrals_expire(dry_run=dry_run)
        reminded = referrals_remind(dry_run=dry_run)
        prefix = "[simulation] " if dry_run else ""
        self.stdout.write(
            f"{prefix}{reminded} relance(s), {expired} orientation(s) expirée(s) "
            f"(relance après {settings.REFERRAL_REMINDER_AFTER_DAYS} jours, expiration après "
            f"{settings.REFERRAL_EXPIRY_DAYS} jours, {settings.REFERRAL_REVIEW_EXPIRY_DAYS} si en cours d'étude)."
        )
