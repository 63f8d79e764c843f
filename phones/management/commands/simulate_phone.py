from django.core.management.base import BaseCommand, CommandError

from phones.files.access import secret_masked
from phones.files.simulator import PhoneRefused, simulate

DEFAULT_MODELS = {"snom": "D785", "yealink": "T46S", "gigaset": "Maxwell 3"}
SECRET_SETTINGS = ("pass", "password", "AuthPassword")


class Command(BaseCommand):
    help = (
        "Fetch a desk phone's files as its firmware would (phones.files.simulator): the "
        "vendor's file names in its order, its MAC placeholder and User-Agent, and a parser "
        "as strict as the phone's. Prints what the phone would apply (passwords masked); "
        "exits non-zero on anything the phone would reject."
    )

    def add_arguments(self, parser):
        parser.add_argument("--vendor", required=True, choices=sorted(DEFAULT_MODELS))
        parser.add_argument("--mac", required=True, help="e.g. 00:04:13:AB:CD:EF")
        parser.add_argument(
            "--url",
            required=True,
            help="What the phone is set to: Snom's setting_server (with {mac}), Yealink's "
            "provisioning folder, Gigaset's provisioning URL (with %%MACD)",
        )
        parser.add_argument("--model", default="", help="Default: D785, T46S or Maxwell 3")

    def handle(self, *args, **options):
        vendor = options["vendor"]
        try:
            applied = simulate(
                vendor=vendor,
                mac=options["mac"],
                url=options["url"],
                model=options["model"] or DEFAULT_MODELS[vendor],
            )
        except PhoneRefused as exc:
            raise CommandError(f"the phone would refuse this: {exc}") from None
        for fetched in applied.fetched:
            self.stdout.write(f"fetched {fetched}")
        for name, value in sorted(applied.settings.items()):
            secret = any(word in name for word in SECRET_SETTINGS) and value
            self.stdout.write(f"{name} = {'********' if secret else secret_masked(value)}")
