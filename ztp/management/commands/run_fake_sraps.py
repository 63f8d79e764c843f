import shlex

from django.core.management.base import BaseCommand, CommandError

from ztp.fake_sraps import FakeSraps


class Command(BaseCommand):
    help = (
        "Serve a fake Snom SRAPS on 127.0.0.1 in the foreground (demo and manual tests). It "
        "checks Hawk signatures; its state lives in memory and is lost when it stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8083, help="Port on 127.0.0.1 (8083)")
        parser.add_argument("--key-id", default="", help="The reseller's access key ID (random)")
        parser.add_argument("--secret", default="", help="The reseller's secret (random)")

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {options['port']}")
        sraps = FakeSraps(
            reseller_key_id=options["key_id"] or None,
            reseller_secret=options["secret"] or None,
            port=options["port"],
            log=self.stdout.write,
        )
        try:
            sraps.start()
        except OSError as exc:
            raise CommandError(
                f"--port: cannot listen on 127.0.0.1:{options['port']} ({exc})"
            ) from None
        self.stdout.write(f"Fake Snom SRAPS on {sraps.api_url}")
        self.stdout.write(f"  export ZTP_SNOM_API_URL={shlex.quote(sraps.api_url)}")
        self.stdout.write(f"  export ZTP_SNOM_RESELLER_KEY_ID={shlex.quote(sraps.reseller_key_id)}")
        self.stdout.write(f"  export ZTP_SNOM_RESELLER_SECRET={shlex.quote(sraps.reseller_secret)}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            sraps.wait()
        except KeyboardInterrupt:
            pass
        finally:
            sraps.stop()
