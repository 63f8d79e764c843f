from django.core.management.base import BaseCommand

from devices.sites import inactive_site_devices_sweep


class Command(BaseCommand):
    help = (
        "Remove devices auto-provisioned into a PTT Pro site that have not checked in for "
        "SITE_INACTIVITY_DAYS from the server's device table and from the site "
        "(the nightly job; safe to run any time)."
    )

    def handle(self, *args, **options):
        counts = inactive_site_devices_sweep()
        self.stdout.write(
            f"{counts['removed']} removed, {counts['failed']} failed "
            f"({counts['candidates']} inactive)."
        )
