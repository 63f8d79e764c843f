"""The demo customer of `make run`. It lives in config, on top of the app order, because
it fills every app: customers and users, bootstraps and tokens, devices and sites, the
license pool, the ZTP card."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Customer, Role, User
from accounts.services import customer_create, portal_user_create
from devices.services import sites_sync
from licensing.backend import EntitlementBackendError
from licensing.services import entitlements_sync
from provisioning.models import AutoProvisioning, AutoProvisioningKey, Token
from provisioning.phones import auto_provisioning_enable
from provisioning.services import (
    DIRECT_ACCESS_BOOTSTRAP,
    bootstrap_save,
    license_request,
    new_token_value,
    token_redeem,
    token_save,
)
from reports.models import AppId
from ztp.models import ZtpAccount, ZtpPhone

DEMO_SLUG = "demo"
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


def _seed_ztp(customer: Customer) -> None:
    """Make the ZTP card work on every start. Onboarding needs automatic provisioning on
    (ZTP issues its own token from it). The demo's vendors are fakes that forget everything
    when `make run` stops, so the demo customer's ZTP wiring starts over each time."""
    if not AutoProvisioning.objects.for_customer(customer).filter(enabled=True).exists():
        auto_provisioning_enable(customer=customer, user=None)
    ZtpPhone.objects.for_customer(customer).delete()
    ZtpAccount.objects.for_customer(customer).delete()
    AutoProvisioningKey.objects.for_customer(customer).filter(purpose__startswith="ztp:").delete()


def _password() -> str:
    return secrets.token_urlsafe(12)
