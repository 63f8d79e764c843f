import getpass
import sys

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.management.utils import describe
from accounts.models import Customer
from core import crypto
from core.errors import ServiceError
from core.http import http_url_valid
from ztp.models import Vendor
from ztp.services.card import (
    ztp_account_state,
    ztp_check,
    ztp_check_all,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_rekey,
    ztp_repair,
    ztp_rotate,
    ztp_status_line,
)
from ztp.services.common import key_entered

NEEDS_VENDOR = {"onboard", "key", "rotate", "disable", "check", "repair"}
NEEDS_KEY = {"onboard", "key"}


class Command(BaseCommand):
    stealth_options = ("stdin",)  # call_command(..., stdin=…) in tests

    help = (
        "Zero-touch provisioning without the browser: the ZTP card's actions, with the same "
        "rules, lock and Events. Prints the outcome in one line; exits non-zero on failure.\n"
        "  status   the stored state (no vendor call) of one vendor or all\n"
        "  onboard | key | rotate | disable | check | repair   as the card's buttons; onboard\n"
        "           and key take --key-id and read the key's secret from the first line of\n"
        "           standard input (never an argument: it would show in the process list)\n"
        "  check-all   check every onboarded customer and vendor (the daily job)\n"
        "  rekey    re-encrypt every stored secret (vendor credentials, phone line passwords)\n"
        "           with the first ZTP_ENCRYPTION_KEYS key\n"
        "  newkey   print a new key for ZTP_ENCRYPTION_KEYS"
    )

    def add_arguments(self, parser):
        actions = ["status", *sorted(NEEDS_VENDOR), "check-all", "rekey", "newkey"]
        parser.add_argument("action", choices=actions)
        parser.add_argument("--customer", help="The customer's slug")
        parser.add_argument("--vendor", choices=Vendor.values, help="The vendor")
        parser.add_argument("--key-id", default="", help="The API key's ID (onboard, key)")
        parser.add_argument(
            "--base-url",
            default="",
            help="Where phones reach this server (onboard; default PUBLIC_URL)",
        )

    def handle(self, *args, **options):
        action = options["action"]
        if action == "newkey":
            self.stdout.write(crypto.new_key())
            return
        if action == "rekey":
            try:
                done, left = ztp_rekey()
            except ServiceError as exc:
                raise CommandError(exc.detail) from None
            self.stdout.write(f"{done} secret(s) re-encrypted with the first key, {left} left.")
            if left:
                raise CommandError(f"{left} changed meanwhile: run rekey again")
            return
        if action == "check-all":
            counts = ztp_check_all()
            self.stdout.write(
                f"{counts['checked']} checked, {counts['drift']} with drift, "
                f"{counts['failed']} failed (see each customer's ZTP card)."
            )
            if counts["failed"]:
                raise CommandError(f"{counts['failed']} check(s) failed")
            return
        customer = self._customer(options["customer"])
        vendor = options["vendor"]
        if action == "status":
            vendors = [vendor] if vendor else Vendor.values
            for name in vendors:
                account = ztp_account_state(customer, name)
                self.stdout.write(ztp_status_line(account))
            return
        if not vendor:
            raise CommandError(f"--vendor: required for {action} ({', '.join(Vendor.values)})")
        common = {"customer": customer, "vendor": vendor, "user": None}
        key = self._key(options) if action in NEEDS_KEY else {}
        try:
            if action == "onboard":
                outcome = ztp_onboard(**common, base_url=self._base_url(options), **key)
            elif action == "key":
                outcome = ztp_key_change(**common, **key)
            elif action == "rotate":
                outcome = ztp_rotate(**common)
            elif action == "disable":
                outcome = ztp_disable(**common)
            elif action == "repair":
                outcome = ztp_repair(**common)
            else:
                outcome = ztp_check(**common)
        except ServiceError as exc:
            raise CommandError(exc.detail) from None
        except ValidationError as exc:
            raise CommandError(describe(exc)) from None
        self.stdout.write(outcome.message)

    def _key(self, options) -> dict[str, str]:
        if not options["key_id"]:
            raise CommandError("--key-id: required (the API key's ID, made in the vendor's portal)")
        stream = options.get("stdin") or sys.stdin
        try:
            if stream.isatty():
                secret = getpass.getpass("The API key's secret: ").strip()
            else:
                secret = stream.readline().strip()
        except UnicodeDecodeError:
            raise CommandError("secret: standard input is not UTF-8 text") from None
        if not secret:
            raise CommandError("secret: expected on the first line of standard input")
        try:
            key_id, secret = key_entered(options["key_id"], secret)
        except ValidationError as exc:
            names = {"key_id": "--key-id", "secret": "secret (standard input)"}
            raise CommandError(
                "; ".join(f"{names[f]}: {' '.join(p)}" for f, p in exc.message_dict.items())
            ) from None
        return {"key_id": key_id, "secret": secret}

    def _customer(self, slug: str | None) -> Customer:
        if not slug:
            raise CommandError("--customer: required (the customer's slug)")
        customer = Customer.objects.filter(slug=slug).first()
        if customer is None:
            raise CommandError(f"--customer: no customer with slug {slug!r}")
        return customer

    def _base_url(self, options) -> str:
        base_url = (options["base_url"] or settings.PUBLIC_URL).rstrip("/")
        if not base_url:
            raise CommandError(
                "--base-url: required when PUBLIC_URL is not set (the address phones reach "
                "this server at, e.g. https://pm.example.com)"
            )
        if not http_url_valid(base_url):
            raise CommandError("--base-url: expected an address like https://pm.example.com")
        return base_url
