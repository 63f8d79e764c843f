import json
import shlex

from django.core.management.base import BaseCommand, CommandError

from devices.fake_ptt import FakePttServer


class Command(BaseCommand):
    help = (
        "Serve a fake PTT Pro server on 127.0.0.1 in the foreground (demo and manual tests). "
        "Its state lives in memory and is lost when it stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8081, help="Port on 127.0.0.1 (8081)")
        parser.add_argument(
            "--department",
            action="append",
            default=[],
            metavar="NAME",
            help="A department (site) the server has; repeat for more",
        )
        parser.add_argument(
            "--manual-device",
            action="append",
            nargs=2,
            default=[],
            metavar=("DEVICE_ID", "DEPARTMENT"),
            help="A row entered by hand on the server, which provisioning must leave alone",
        )
        parser.add_argument("--api-key", default="", help="The key clients must send (random)")
        parser.add_argument(
            "--name", default="demo", help="Server name to use in the printed PTT_SERVERS"
        )

    def handle(self, *args, **options):
        if not 0 <= options["port"] <= 65535:
            raise CommandError(f"--port: expected 0 to 65535, got {options['port']}")
        server = FakePttServer(
            api_key=options["api_key"] or None,
            departments=options["department"],
            port=options["port"],
            log=self.stdout.write,
        )
        for device_id, department in options["manual_device"]:
            try:
                server.add_manual_device(device_id, department)
            except ValueError as exc:
                raise CommandError(f"--manual-device: {exc}") from None
        try:
            server.start()
        except OSError as exc:
            raise CommandError(
                f"--port: cannot listen on 127.0.0.1:{options['port']} ({exc})"
            ) from None

        ptt_servers = {options["name"]: {"url": server.url, "api_key": server.api_key}}
        self.stdout.write(f"Fake PTT Pro server on {server.url}")
        self.stdout.write(f"  departments: {', '.join(server.departments) or '(none)'}")
        self.stdout.write(f"  export PTT_SERVERS={shlex.quote(json.dumps(ptt_servers))}")
        self.stdout.write("Quit with CONTROL-C.")
        try:
            server.wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
