from django.conf import settings
from django.core.management.base import BaseCommand

from licensing.services import standard_licenses_release


class Command(BaseCommand):
    help = (
        "Release Standard licenses of devices that have not checked in for "
        "LICENSE_RELEASE_DAYS (the nightly job). Premium licenses are never released."
    )

    def handle(self, *args, **options):
        released = standard_licenses_release()
        self.stdout.write(
            f"{released} Standard license(s) released "
            f"(devices silent for {settings.LICENSE_RELEASE_DAYS} days)."
        )
