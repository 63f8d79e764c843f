"""The demo customer of `make run`. It lives in config, on top of the app order, because
it fills every app: customers and users, bootstraps and tokens, devices and sites, the
license pool, the ZTP card."""

import secrets
from datetime import timedelta
from io import StringIO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Customer, Role, User
from accounts.services import customer_create, portal_user_create
from devices.sites import sites_sync
from gateway.services.licenses import license_request
from gateway.services.redemption import token_redeem
from licensing.backend import EntitlementBackendError
from licensing.services import license_snapshot
from licensing.sync import entitlements_sync
from phones.models import AutoProvisioning
from phones.services.auto import auto_provisioning_enable
from provisioning.models import Token
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import DIRECT_ACCESS_BOOTSTRAP, new_token_value, token_save
from reports.models import AppId, LicenseRollup
from reports.rollups import SETTLE, LicenseDay, license_rollup_store, token_rollup_update
from ztp.models import ZtpAccount, ZtpPhone

DEMO_SLUG = "demo"
# The demo's History and Events (seed_history spreads them over the last 13 months).
DEMO_HISTORY_ROWS = 20_000
DEMO_EVENTS = 2_000
DEMO_PTT_SERVER = "demo-ptt"
DEMO_USERS = [
    ("demo-superadmin", "Dana Super", Role.SUPER_ADMIN),
    ("demo-admin", "Alex Admin", Role.ADMIN),
    ("demo-user", "Uma User", Role.USER),
]


class Command(BaseCommand):
    help = (
        "Load a demo customer with a Super-Admin, an Admin and a User, plus a support (staff) "
        "account, and print their passwords. Running it again sets new passwords."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        customer = Customer.objects.filter(slug=DEMO_SLUG).first()
        if customer is None:
            customer = customer_create(
                name="Demo Customer",
                slug=DEMO_SLUG,
                contact_name="Dana Super",
                contact_email="it@demo.example",
                contact_phone="+1 555 0100",
                extension_manager_url="https://exm.demo.example/profiles/stores/?api_key=demo",
            )
            _seed(customer)
            _seed_licenses(customer)
            # After the commit: seed_history vacuums on PostgreSQL, outside a transaction.
            transaction.on_commit(lambda: _seed_dashboard(customer))
        _seed_ztp(customer)
        lines = []
        for username, name, role in DEMO_USERS:
            password = _password()
            user = User.objects.filter(username=username).first()
            if user is not None and user.customer_id != customer.pk:
                raise CommandError(f"username {username!r} belongs to another account; rename it")
            if user is None:
                portal_user_create(
                    customer=customer,
                    username=username,
                    name=name,
                    email=f"{username}@demo.example",
                    role=role,
                    password=password,
                )
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
            lines.append((Role(role).label, username, password))

        password = _password()
        staff = User.objects.filter(username="support").first() or User(
            username="support", name="Vendor support", email="support@localhost"
        )
        if staff.customer_id is not None:
            raise CommandError("username 'support' belongs to a portal user; rename it")
        staff.is_staff = staff.is_superuser = True
        staff.set_password(password)
        staff.save()
        lines.append(("Staff (support)", "support", password))

        self.stdout.write(f"Demo customer: {customer.name}")
        for role, username, password in lines:
            self.stdout.write(f"  {role:<16} username: {username:<16} password: {password}")


def _seed(customer: Customer) -> None:
    """Site bootstraps with PTT Pro tokens, and a few devices that redeemed them. With
    the demo's fake PTT Pro server configured (`make run`), the devices land in its sites."""
    if DEMO_PTT_SERVER in settings.PTT_SERVERS:
        customer.ptt_server = DEMO_PTT_SERVER
        customer.save(update_fields=["ptt_server"])
        sites_sync(customer=customer)
    for index, site in enumerate(["North Warehouse", "South Store"]):
        bootstrap, _ = bootstrap_save(
            customer=customer,
            user=None,
            name=f"PTT-{site.replace(' ', '-')}",
            parameters={"site": site, "serverURL": "https://ptt.demo.example"},
        )
        token, _ = token_save(
            customer=customer,
            user=None,
            value=new_token_value(f"demo-{site.split()[0].lower()}"),
            app_id=AppId.PTT_PRO,
            bootstrap=bootstrap,
            description=f"PTT Pro devices of {site}",
        )
        for n in range(3):
            token_redeem(
                token=token.value,
                device_id=f"TC52_21304522{index}{n:04}",
                app_id=AppId.PTT_PRO,
                model="TC52",
                os="Android 13",
                app_version="3.3.10210",
            )


def _seed_licenses(customer: Customer) -> None:
    """Sync the demo's license pool from the fake back end and license a few phones."""
    try:
        entitlements_sync(customer=customer)
    except (ValidationError, EntitlementBackendError):
        return  # no back end configured or reachable: the pool stays empty
    token = Token.objects.for_customer(customer).filter(bootstrap__name=DIRECT_ACCESS_BOOTSTRAP)
    direct_access = token.first()
    for n, feature in enumerate(["CUCM", "CUCM", "Asterisk", "CUCM Premium"]):
        device_id = f"TC52_2230452251{n:04}"
        token_redeem(
            token=direct_access.value,
            device_id=device_id,
            app_id=AppId.VOICE,
            model="TC52",
            os="Android 13",
            app_version="9.0.22410",
        )
        license_request(
            token=direct_access.value,
            device_id=device_id,
            feature=feature,
            app_version="9.0.22410",
        )


def _seed_dashboard(customer: Customer) -> None:
    """Give the dashboard's graphs something to show on first start: a year of device
    requests and events (reports' seed_history), counted into the token rollup, and
    eight weeks of license numbers rising to today's. The license weeks are made up: the
    pool was only just synced, so no past day can be rebuilt from it."""
    call_command(
        "seed_history",
        customer=customer.slug,
        rows=DEMO_HISTORY_ROWS,
        events=DEMO_EVENTS,
        stdout=StringIO(),
    )
    # Nothing else writes History now: count every row without waiting for it to settle.
    token_rollup_update(now=timezone.now() + SETTLE)
    license_snapshot()
    today = LicenseRollup.objects.for_customer(customer).filter(day=timezone.localdate()).first()
    if today is None:
        return  # no entitlement back end: the license graph explains it is empty
    weeks = 8
    license_rollup_store(
        days=[
            LicenseDay(
                customer_id=customer.pk,
                day=today.day - timedelta(days=n),
                premium_used=today.premium_used * (weeks * 7 - n) // (weeks * 7),
                # The Premium trial began three weeks ago.
                premium_total=today.premium_total if n <= 21 else 0,
                standard_used=today.standard_used * (weeks * 7 - n) // (weeks * 7),
                standard_total=today.standard_total,
            )
            for n in range(1, weeks * 7)
        ]
    )


def _seed_ztp(customer: Customer) -> None:
    """Make the ZTP card work on every start. The demo's vendors are fakes that forget
    everything when `make run` stops, so the demo customer's ZTP wiring starts over each
    time (the API keys to enter are in README, "Zero-touch provisioning"). Automatic
    provisioning is on, as a customer using ZTP would have it."""
    if not AutoProvisioning.objects.for_customer(customer).filter(enabled=True).exists():
        auto_provisioning_enable(customer=customer, user=None)
    ZtpPhone.objects.for_customer(customer).delete()
    ZtpAccount.objects.for_customer(customer).delete()


def _password() -> str:
    return secrets.token_urlsafe(12)
