import shlex

from django.core.management.base import BaseCommand, CommandError

from ztp.fake_ymcs import FakeYmcs


class Command(BaseCommand):
    help = (
        "Serve a fake Yealink YMCS (RPS) on 127.0.0.1 in the foreground (demo and manual "
        "tests). Its state lives in memory and is lost when it stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8084, help="Port on 127.0.0.1 (8084)")
        parser.add_argument(
            "--client-id", default="", help="The enterprise API key's client ID (random)"
        )
        parser.add_argument(
            "--secret", default="", help="The enterprise API key's client secret (random)"
        )

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {options['port']}")
        ymcs = FakeYmcs(
            client_id=options["client_id"] or None,
            client_secret=options["secret"] or None,
            port=options["port"],
            log=self.stdout.write,
        )
        try:
            ymcs.start()
        except OSError as exc:
            raise CommandError(
                f"--port: cannot listen on 127.0.0.1:{options['port']} ({exc})"
            ) from None
        self.stdout.write(f"Fake Yealink YMCS on {ymcs.url}")
        self.stdout.write(f"  export ZTP_YEALINK_API_URL={shlex.quote(ymcs.url)}")
        self.stdout.write("Enter this API key on the ZTP card (Yealink):")
        self.stdout.write(f"  client ID:     {ymcs.client_id}")
        self.stdout.write(f"  client secret: {ymcs.client_secret}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            ymcs.wait()
        except KeyboardInterrupt:
            pass
        finally:
            ymcs.stop()
