from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from devices.ptt import PttError
from devices.sites import sites_sync
from devices.tasks import sync_sites


class Command(BaseCommand):
    help = "Copy the site list from the customers' PTT Pro servers (the hourly job)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", help="Only this customer (slug)")

    def handle(self, *args, **options):
        if not options["customer"]:
            counts = sync_sites()
            self.stdout.write(f"{counts['synced']} customer(s) synced, {counts['failed']} failed.")
            return
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        if not customer.ptt_server:
            raise CommandError(f"--customer: {customer.name} has no PTT Pro server")
        try:
            count = sites_sync(customer=customer)
        except PttError as exc:
            raise CommandError(f"PTT Pro server {customer.ptt_server}: {exc}") from None
        self.stdout.write(f"{count} site(s) synced for {customer.name}.")
