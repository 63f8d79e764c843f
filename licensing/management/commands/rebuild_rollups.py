import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Customer
from licensing.services import rollups_rebuild
from reports.rollups import history_kept_from

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(option: str, value: str) -> date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option}: expected a date as YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = (
        "Recompute the dashboard's daily rollups (token requests per app; licenses used "
        "and purchased) for a range of days from the raw rows: History, and the license "
        "pool's assignments and entitlements. Safe while the rollup jobs run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer (slug); all by default")
        parser.add_argument(
            "--from", dest="first", required=True, metavar="YYYY-MM-DD", help="First day"
        )
        parser.add_argument(
            "--to", dest="last", required=True, metavar="YYYY-MM-DD", help="Last day"
        )

    def handle(self, *args, **options):
        first = _day("--from", options["first"])
        last = _day("--to", options["last"])
        if first > last:
            raise CommandError(f"--from: {first} is after --to {last}")
        today = timezone.localdate()
        if first > today:
            raise CommandError(f"--from: {first} is in the future (today is {today})")
        customer = None
        if options["customer"]:
            customer = Customer.objects.filter(slug=options["customer"]).first()
            if customer is None:
                raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        counts = rollups_rebuild(first=first, last=min(last, today), customer=customer)
        self.stdout.write(
            f"Rebuilt {first} to {min(last, today)}: {counts['tokenRows']} token request "
            f"row(s), {counts['licenseRows']} license row(s); {counts['newRequests']} newer "
            "request(s) counted."
        )
        kept = history_kept_from()
        if first < kept:
            self.stdout.write(
                f"Token requests before {kept} kept their counts: History older than "
                "HISTORY_RETENTION_DAYS is deleted, so they cannot be recounted."
            )
