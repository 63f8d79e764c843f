from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.utils import describe
from accounts.models import Customer, User
from phones.models import Category
from phones.services.codes import provisioning_code_issue


class Command(BaseCommand):
    help = (
        "Issue a one-time provisioning code for a new phone and print it alone on the last "
        "line. Valid 10 minutes, or 7 days with --rollout."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customer", required=True, help="Customer slug")
        parser.add_argument(
            "--category", help="Provisioning category name (default: the customer's first)"
        )
        parser.add_argument("--user", help="Username of the portal user the phone is for")
        parser.add_argument("--rollout", action="store_true", help="Valid 7 days, not 10 minutes")

    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        category = None
        if options["category"]:
            category = (
                Category.objects.for_customer(customer).filter(name=options["category"]).first()
            )
            if category is None:
                raise CommandError(
                    f"--category: {customer.name} has no category {options['category']!r}"
                )
        for_user = None
        if options["user"]:
            for_user = User.objects.for_customer(customer).filter(username=options["user"]).first()
            if for_user is None:
                raise CommandError(
                    f"--user: {customer.name} has no portal user {options['user']!r}"
                )
        try:
            code = provisioning_code_issue(
                customer=customer,
                user=None,
                category=category,
                for_user=for_user,
                rollout=options["rollout"],
            )
        except ValidationError as exc:
            raise CommandError(describe(exc).replace("category:", "--category:")) from None
        self.stdout.write(
            f"Provisioning code for {customer.name}, category {code.category.name}, "
            f"valid until {code.expires_at:%Y-%m-%d %H:%M %Z}:"
        )
        self.stdout.write(code.code)
