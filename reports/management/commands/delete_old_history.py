from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from reports.services import history_purge


class Command(BaseCommand):
    help = (
        "Delete History rows older than HISTORY_RETENTION_DAYS (or --days), in short "
        "batches, as the nightly job does. The dashboard's rollups are kept. Safe to run "
        "while devices write History, and twice at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Keep this many days (default HISTORY_RETENTION_DAYS, now "
            f"{settings.HISTORY_RETENTION_DAYS})",
        )

    def handle(self, *args, **options):
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError(f"--days: must be at least 1, got {days}")
        deleted = history_purge(days=days)
        kept = settings.HISTORY_RETENTION_DAYS if days is None else days
        self.stdout.write(f"Deleted {deleted} History row(s) older than {kept} days.")
