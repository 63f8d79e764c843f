"""Seed the throwaway database that the Schemathesis step of .ci/run fuzzes.

    DEBUG=true DATABASE_URL=… SCHEMATHESIS_PASSWORD=… .venv/bin/python tests/schemathesis/seed.py

One customer (with the default bootstraps and tokens every new customer gets), its
Super-Admin `fuzz-admin` with the password in SCHEMATHESIS_PASSWORD, a bootstrap, a token,
a device that redeemed it and an entitlement line, so the lists have rows and the
stateful phase has objects to read, change and delete. Everything goes through the
services, as the portal would do it; only the entitlement, which normally arrives by a
back-end sync, is written directly. Prints the Super-Admin's user ID and nothing secret.
It is not a test module (pytest collects test_*.py only).
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Role  # noqa: E402
from accounts.services import customer_create, portal_user_create  # noqa: E402
from gateway.services.redemption import token_redeem  # noqa: E402
from licensing.models import Entitlement, LicenseType  # noqa: E402
from provisioning.services.bootstraps import bootstrap_save  # noqa: E402
from provisioning.services.tokens import token_save  # noqa: E402
from reports.models import AppId  # noqa: E402

USERNAME = "fuzz-admin"
CUSTOMER_SLUG = "fuzz"


@transaction.atomic
def seed(password: str) -> int:
    customer = customer_create(
        name="Fuzz Customer", slug=CUSTOMER_SLUG, contact_email="it@fuzz.example"
    )
    admin = portal_user_create(
        customer=customer,
        username=USERNAME,
        email="fuzz-admin@fuzz.example",
        role=Role.SUPER_ADMIN,
        password=password,
        name="Fuzz Admin",
    )
    bootstrap, _ = bootstrap_save(
        customer=customer, user=admin, name="fuzz-bootstrap", parameters={"volume": 5}
    )
    token, _ = token_save(
        customer=customer,
        user=admin,
        value="FUZZ-TOKEN-1",
        app_id=AppId.VOICE,
        bootstrap=bootstrap,
        description="Seeded for Schemathesis",
    )
    redeemed = token_redeem(
        token=token.value,
        device_id="TC52_18304522512397",
        app_id=AppId.VOICE,
        model="TC52",
        os="Android 13",
        app_version="1.2.3",
    )
    if not redeemed.ok:
        raise SystemExit(f"seed: the token was refused: {redeemed.result}")
    Entitlement.objects.create(
        customer=customer,
        activation_id="fuzz-activation-0001",
        license_type=LicenseType.STANDARD,
        term="1 year",
        total=10,
        expiration=timezone.now() + timedelta(days=365),
        verified_at=timezone.now(),
    )
    return admin.pk


if __name__ == "__main__":
    secret = os.environ.get("SCHEMATHESIS_PASSWORD", "")
    if not secret:
        raise SystemExit("seed: set SCHEMATHESIS_PASSWORD")
    print(seed(secret))
