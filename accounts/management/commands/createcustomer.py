from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.utils import describe
from accounts.services import customer_create


class Command(BaseCommand):
    help = "Create a customer (tenant)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Customer name, unique")
        parser.add_argument(
            "--slug", default="", help="Short unique id; made from the name if omitted"
        )
        parser.add_argument("--contact-name", default="")
        parser.add_argument("--contact-email", default="")
        parser.add_argument("--contact-phone", default="")
        parser.add_argument(
            "--extension-manager-url",
            default="",
            help="Also create the Extension Manager bootstrap and token pointing here",
        )

    def handle(self, *args, **options):
        try:
            customer = customer_create(
                name=options["name"],
                slug=options["slug"],
                contact_name=options["contact_name"],
                contact_email=options["contact_email"],
                contact_phone=options["contact_phone"],
                extension_manager_url=options["extension_manager_url"],
            )
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None
        self.stdout.write(f"Created customer {customer.name} (slug {customer.slug}).")
        for token in customer.token_set.select_related("bootstrap").order_by("pk"):
            self.stdout.write(f"  token {token.value} → bootstrap {token.bootstrap.name}")
