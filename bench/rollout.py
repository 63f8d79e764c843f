"""Time a rollout: codes for many portal users in one request, and its CSV.

Meant to run against PostgreSQL, the production database, through DATABASE_URL (the
database must be migrated: `manage.py migrate`); SQLite works for a quick check:

    DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/pm_dev \\
        DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/rollout.py --users 10000

It creates a throwaway customer with N portal users and a provisioning category, signs an
Admin in with Django's test Client, creates the rollout through the Register phones page
(one POST, "all users" selected, so the Admin too) and times it, then downloads the
rollout's CSV (streamed) and times that. The target: under 3 seconds for 10,000 users.
It deletes everything it created, also when interrupted. It needs no pytest.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import Customer, Role, User  # noqa: E402
from phones.models import Category, ProvisioningCode, Rollout  # noqa: E402
from reports.models import Event  # noqa: E402


def create_customer(users: int) -> tuple[Customer, User, Category]:
    slug = f"bench-rollout-{secrets.token_hex(4)}"
    customer = Customer.objects.create(name=slug, slug=slug)
    # One hash for all: hashing 10,000 passwords would be the slowest part of the bench.
    password = make_password(None)
    User.objects.bulk_create(
        (
            User(
                customer=customer,
                role=Role.USER,
                username=f"{slug}-{n:06}",
                email=f"user{n}@bench.example",
                password=password,
            )
            for n in range(users)
        ),
        batch_size=5000,
    )
    admin = User.objects.create(
        customer=customer, role=Role.ADMIN, username=f"{slug}-admin", email="a@bench.example"
    )
    category = Category.objects.create(customer=customer, name="Phones")
    return customer, admin, category


def delete_customer(customer: Customer) -> None:
    ProvisioningCode.objects.filter(customer=customer).delete()
    Rollout.objects.filter(customer=customer).delete()
    Event.objects.filter(customer=customer).delete()
    customer.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000, help="how many (10000)")
    args = parser.parse_args()
    setup_test_environment()
    customer, admin, category = create_customer(args.users)
    try:
        client = Client()
        client.force_login(admin)
        # Step 3 of the wizard, "all users" ticked: one POST creates the rollout.
        url = reverse("phones:rollout_users")
        data = {"category": category.pk, "all": "1", "go": "create", "q": "", "shown_q": ""}
        start = time.perf_counter()
        response = client.post(url, data)
        elapsed = time.perf_counter() - start
        if response.status_code != 302:
            raise SystemExit(f"the rollout page answered {response.status_code}")
        rollout = Rollout.objects.filter(customer=customer).latest("pk")
        codes = rollout.codes.count()
        start = time.perf_counter()
        csv = client.get(reverse("phones:rollout_csv", args=[rollout.pk]))
        size = sum(len(chunk) for chunk in csv.streaming_content)
        csv_elapsed = time.perf_counter() - start
        print(f"database: {connection.vendor}")
        print(f"rollout for {args.users} users: {elapsed:.2f} s, {codes} codes (target: under 3 s)")
        print(f"CSV of the rollout: {csv_elapsed:.2f} s, {size / 1024:.0f} KiB, streamed")
    finally:
        delete_customer(customer)


if __name__ == "__main__":
    main()
