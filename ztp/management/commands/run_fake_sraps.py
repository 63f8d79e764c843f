import shlex

from django.core.management.base import BaseCommand, CommandError

from ztp.fake_sraps import FakeGrape, FakeSraps


class Command(BaseCommand):
    help = (
        "Serve a fake Snom SRAPS (or, with --grape, a fake Gigaset GRAPE) on 127.0.0.1 in the "
        "foreground (demo and manual tests). It checks Hawk signatures; its state lives in "
        "memory and is lost when it stops. Prints the API key to enter on the ZTP card."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8083, help="Port on 127.0.0.1 (8083)")
        parser.add_argument("--grape", action="store_true", help="Be Gigaset GRAPE instead")
        parser.add_argument("--key-id", default="", help="The customer's API key ID (random)")
        parser.add_argument("--secret", default="", help="The API key's secret (random)")

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {options['port']}")
        kind, variable = (FakeGrape, "GIGASET") if options["grape"] else (FakeSraps, "SNOM")
        fake = kind(
            key_id=options["key_id"] or None,
            secret=options["secret"] or None,
            port=options["port"],
            log=self.stdout.write,
        )
        try:
            fake.start()
        except OSError as exc:
            raise CommandError(
                f"--port: cannot listen on 127.0.0.1:{options['port']} ({exc})"
            ) from None
        self.stdout.write(f"Fake {fake.label} on {fake.api_url}")
        self.stdout.write(f"  export ZTP_{variable}_API_URL={shlex.quote(fake.api_url)}")
        self.stdout.write(f"  API key to enter on the ZTP card: ID {fake.key_id}")
        self.stdout.write(f"                                    secret {fake.secret}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            fake.wait()
        except KeyboardInterrupt:
            pass
        finally:
            fake.stop()
