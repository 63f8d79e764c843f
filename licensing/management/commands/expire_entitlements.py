from django.core.management.base import BaseCommand

from licensing.services import entitlements_expire


class Command(BaseCommand):
    help = "Mark expired entitlements and send the 30/7/1/0-day expiry notices (daily job)."

    def handle(self, *args, **options):
        counts = entitlements_expire()
        self.stdout.write(
            f"{counts['expired']} entitlement(s) expired, {counts['notices']} notice(s) sent."
        )
