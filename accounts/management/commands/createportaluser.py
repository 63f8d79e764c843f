import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.utils import describe
from accounts.models import Customer, Role
from accounts.services import portal_user_create


class Command(BaseCommand):
    help = "Create a portal user of a customer with a role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--customer", required=True, help="Customer slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--password",
            default=None,
            help="Asked for interactively when omitted (avoid passwords on command lines)",
        )

    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        password = options["password"]
        if password is None:
            if not sys.stdin.isatty():
                raise CommandError("--password: required when not run in a terminal")
            password = getpass.getpass("Password: ")
        try:
            user = portal_user_create(
                customer=customer,
                username=options["username"],
                email=options["email"],
                role=options["role"],
                name=options["name"],
                password=password,
            )
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None
        self.stdout.write(f"Created {user.get_role_display()} {user.username} for {customer.name}.")
