import shlex

from django.core.management.base import BaseCommand, CommandError

from licensing.fake_backend import FakeEntitlementBackend, demo_entitlements


class Command(BaseCommand):
    help = (
        "Serve a fake entitlement back end on 127.0.0.1 in the foreground (demo and manual "
        "tests). Its state lives in memory and is lost when it stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8082, help="Port on 127.0.0.1 (8082)")
        parser.add_argument(
            "--token", default="", help="The bearer token clients must send (random)"
        )
        parser.add_argument(
            "--account",
            action="append",
            default=[],
            metavar="ACCOUNT",
            help="An account the back end knows (demo); repeat for more",
        )
        parser.add_argument(
            "--seed",
            action="store_true",
            help="Give each account demo entitlements: Standard 20 seats (1 Year Term, 200 "
            "days left), Premium 5 seats (Trial, 20 days), Standard 10 seats (400 days)",
        )

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {options['port']}")
        accounts = options["account"] or ["demo"]
        if not all(account.strip() for account in accounts):
            raise CommandError("--account: must not be blank")
        backend = FakeEntitlementBackend(
            token=options["token"] or None, port=options["port"], log=self.stdout.write
        )
        for account in accounts:
            backend.set_entitlements(account, demo_entitlements(account) if options["seed"] else [])
        try:
            backend.start()
        except OSError as exc:
            raise CommandError(
                f"--port: cannot listen on 127.0.0.1:{options['port']} ({exc})"
            ) from None

        self.stdout.write(f"Fake entitlement back end on {backend.url}")
        for account, entries in backend.accounts.items():
            self.stdout.write(f"  account {account}: {len(entries)} entitlement(s)")
            for item in entries:
                self.stdout.write(
                    f"    {item['activationId']}  {item['licenseType']:<8}  "
                    f"{item['quantity']:>3} seat(s)  {item['term']:<11}  "
                    f"expires {item['expiration']}"
                )
        self.stdout.write("  export LICENSE_BACKEND=http")
        self.stdout.write(f"  export LICENSE_BACKEND_URL={shlex.quote(backend.url)}")
        self.stdout.write(f"  export LICENSE_BACKEND_TOKEN={shlex.quote(backend.token)}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            backend.wait()
        except KeyboardInterrupt:
            pass
        finally:
            backend.stop()
