from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer, User
from provisioning import importing


class Command(BaseCommand):
    help = (
        "Add or replace a customer's bootstraps and tokens from a CSV file (header "
        f"{','.join(importing.CSV_COLUMNS)}) or a JSON file "
        '({"bootstraps": [...], "tokens": [...]}); all or nothing.'
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A .csv or .json file")
        parser.add_argument("--customer", required=True, help="Customer slug")
        parser.add_argument(
            "--user",
            default=None,
            help="Username recorded in the events: a portal user of the customer, or staff",
        )

    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=options["customer"]).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {options['customer']!r}")
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None or not (user.is_staff or user.customer_id == customer.pk):
                raise CommandError(
                    f"--user: no staff user or user of {customer.slug} named {options['user']!r}"
                )
        path = Path(options["file"])
        try:
            size = path.stat().st_size
            if size > importing.MAX_IMPORT_BYTES:
                raise CommandError(
                    f"file: {path} is larger than "
                    f"{importing.MAX_IMPORT_BYTES // (1024 * 1024)} MiB; split it"
                )
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"file: cannot read {path} ({exc.strerror})") from None
        try:
            catalog = importing.parse_file(raw, filename=path.name)
            counts = importing.run_import(customer=customer, user=user, catalog=catalog)
        except importing.ImportFileError as exc:
            raise CommandError(f"file: {exc.detail}") from None
        except importing.ImportRowsError as exc:
            raise CommandError(
                f"{exc}:\n" + "\n".join(f"  {line}" for line in exc.lines())
            ) from None
        self.stdout.write(
            f"Imported into {customer.name}: bootstraps {counts['bootstraps']['added']} added, "
            f"{counts['bootstraps']['replaced']} replaced; tokens {counts['tokens']['added']} "
            f"added, {counts['tokens']['replaced']} replaced."
        )
