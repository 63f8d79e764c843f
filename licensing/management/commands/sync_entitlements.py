from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.utils import describe
from accounts.models import Customer
from licensing.backend import EntitlementBackendError
from licensing.sync import entitlements_sync
from licensing.tasks import check_entitlements, sync_entitlements


class Command(BaseCommand):
    help = (
        "Sync entitlements from the back end: the nightly full sync, or with --check the "
        "hourly check. All customers unless --customer is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer (slug)")
        parser.add_argument("--check", action="store_true", help="Hourly check, no changes")

    def handle(self, *args, **options):
        full = not options["check"]
        if not options["customer"]:
            counts = (sync_entitlements if full else check_entitlements)()
            self.stdout.write(f"{counts['synced']} customer(s) synced, {counts['failed']} failed.")
            return
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        try:
            counts = entitlements_sync(customer=customer, full=full)
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None
        except EntitlementBackendError as exc:
            raise CommandError(f"entitlement back end: {exc}") from None
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
