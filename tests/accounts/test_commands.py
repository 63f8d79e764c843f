"""The operator's management commands: createcustomer, createportaluser and loaddemo.

Errors must come back as a CommandError naming the field or option at fault, and a
refused command must leave the database as it was.
"""

from __future__ import annotations

import io
import re
import sys

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.models import Customer, Role, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Plum-orbit-71-lantern"


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def sign_in(username: str, password: str) -> User | None:
    # django-axes' backend refuses to authenticate without a request.
    return authenticate(RequestFactory().post("/"), username=username, password=password)


def named_fields(error: CommandError) -> set[str]:
    """The fields a command error names: its messages read `field: text; field: text`."""
    return {part.split(":", 1)[0].strip() for part in str(error).split("; ")}


# --- createcustomer -------------------------------------------------------------------


def test_createcustomer_makes_the_slug_from_the_name():
    out = run("createcustomer", "Initech Field Services")

    customer = Customer.objects.get(name="Initech Field Services")
    assert customer.slug == "initech-field-services"
    assert "initech-field-services" in out


def test_createcustomer_keeps_a_given_slug_and_contact():
    run("createcustomer", "Initech", "--slug", "ini", "--contact-email", "it@ini.example")

    customer = Customer.objects.get(slug="ini")
    assert customer.name == "Initech"
    assert customer.contact_email == "it@ini.example"


def test_createcustomer_refuses_a_duplicate_name(customer, other_customer):
    with pytest.raises(CommandError) as caught:
        run("createcustomer", customer.name, "--slug", "fresh-slug")

    assert named_fields(caught.value) == {"name"}
    assert Customer.objects.count() == 2


def test_createcustomer_refuses_a_duplicate_slug(customer, other_customer):
    with pytest.raises(CommandError) as caught:
        run("createcustomer", "Brand New Name", "--slug", customer.slug)

    assert named_fields(caught.value) == {"slug"}
    assert Customer.objects.count() == 2


def test_createcustomer_refuses_a_slug_made_from_the_name_that_is_taken(customer):
    # "ACME" is a new name, but its slug "acme" belongs to the existing customer.
    with pytest.raises(CommandError) as caught:
        run("createcustomer", "ACME")

    assert named_fields(caught.value) == {"slug"}
    assert Customer.objects.count() == 1


def test_createcustomer_refuses_an_invalid_slug():
    with pytest.raises(CommandError) as caught:
        run("createcustomer", "Bad Slug Ltd", "--slug", "bad slug!")

    assert named_fields(caught.value) == {"slug"}
    assert not Customer.objects.exists()


# --- createportaluser -----------------------------------------------------------------


def create_user(username: str = "newbie", **overrides: str) -> str:
    options = {
        "--customer": "acme",
        "--role": Role.ADMIN,
        "--email": f"{username}@acme.example",
        "--password": STRONG_PASSWORD,
        **overrides,
    }
    args = [item for pair in options.items() if pair[1] is not None for item in pair]
    return run("createportaluser", username, *args)


def test_createportaluser_creates_a_user_of_the_customer_with_the_role(customer, outsider):
    out = create_user("newbie", **{"--role": Role.SUPER_ADMIN, "--name": "Nia Newbie"})

    user = User.objects.get(username="newbie")
    assert user.customer == customer
    assert user.role == Role.SUPER_ADMIN
    assert user.email == "newbie@acme.example"
    assert user.name == "Nia Newbie"
    assert not user.is_staff
    assert sign_in("newbie", STRONG_PASSWORD) == user
    assert "Super-Admin newbie" in out
    # The other customer gained nobody.
    assert list(User.objects.filter(customer=outsider.customer)) == [outsider]


def test_createportaluser_refuses_an_unknown_customer(customer):
    with pytest.raises(CommandError) as caught:
        create_user(**{"--customer": "no-such-customer"})

    assert named_fields(caught.value) == {"--customer"}
    assert not User.objects.filter(username="newbie").exists()


def test_createportaluser_refuses_an_invalid_email(customer):
    with pytest.raises(CommandError) as caught:
        create_user(**{"--email": "not-an-email"})

    assert named_fields(caught.value) == {"email"}
    assert not User.objects.filter(username="newbie").exists()


def test_createportaluser_refuses_a_weak_password(customer):
    with pytest.raises(CommandError) as caught:
        create_user(**{"--password": "123"})

    assert named_fields(caught.value) == {"password"}
    assert not User.objects.filter(username="newbie").exists()


def test_createportaluser_refuses_a_taken_username(customer, admin):
    with pytest.raises(CommandError) as caught:
        create_user(admin.username, **{"--role": Role.USER})

    assert named_fields(caught.value) == {"username"}
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
    assert User.objects.filter(username=admin.username).count() == 1
    assert admin.check_password(PASSWORD)


def test_createportaluser_refuses_an_unknown_role(customer):
    with pytest.raises(CommandError) as caught:
        create_user(**{"--role": "owner"})

    assert "--role" in str(caught.value)
    assert not User.objects.filter(username="newbie").exists()


def test_createportaluser_without_password_off_a_terminal_refuses(customer, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(STRONG_PASSWORD + "\n"))
    monkeypatch.setattr("getpass.getpass", pytest.fail)

    with pytest.raises(CommandError) as caught:
        create_user(**{"--password": None})

    assert named_fields(caught.value) == {"--password"}
    assert not User.objects.filter(username="newbie").exists()


def test_createportaluser_asks_for_the_password_on_a_terminal(customer, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": STRONG_PASSWORD)

    create_user(**{"--password": None})

    assert User.objects.get(username="newbie").check_password(STRONG_PASSWORD)


# --- loaddemo -------------------------------------------------------------------------

DEMO_USERNAMES = {"demo-superadmin", "demo-admin", "demo-user", "support"}


def load_demo() -> dict[str, str]:
    """Run loaddemo; returns the printed password of each username."""
    out = run("loaddemo")
    printed = dict(re.findall(r"username:\s*(\S+)\s+password:\s*(\S+)", out))
    assert set(printed) == DEMO_USERNAMES, out
    return printed


def test_loaddemo_creates_a_customer_with_one_user_per_role_and_support():
    passwords = load_demo()

    demo = Customer.objects.get()
    assert demo.name == "Demo Customer"
    roles = sorted(User.objects.filter(customer=demo).values_list("role", flat=True))
    assert roles == sorted([Role.SUPER_ADMIN, Role.ADMIN, Role.USER])
    support = User.objects.get(username="support")
    assert support.is_staff
    assert support.customer is None
    assert User.objects.count() == 4

    for username, password in passwords.items():
        user = sign_in(username, password)
        assert user is not None, f"{username} cannot sign in with the printed password"
        assert user.username == username


def test_loaddemo_twice_keeps_the_data_and_issues_new_passwords():
    old = load_demo()
    users_before = User.objects.count()

    new = load_demo()

    assert Customer.objects.filter(name="Demo Customer").count() == 1
    assert Customer.objects.count() == 1
    assert User.objects.count() == users_before
    for username in DEMO_USERNAMES:
        assert new[username] != old[username]
        assert sign_in(username, new[username]) is not None, username
        assert sign_in(username, old[username]) is None, username


def test_loaddemo_leaves_other_customers_alone(outsider):
    load_demo()

    outsider.refresh_from_db()
    assert outsider.customer.slug == "globex"
    assert outsider.role == Role.SUPER_ADMIN
    assert sign_in(outsider.username, PASSWORD) == outsider
    assert not User.objects.filter(customer__slug="demo", username=outsider.username).exists()


@pytest.mark.django_db
def test_loaddemo_never_takes_over_another_customers_user(outsider):
    foreign = UserFactory(customer=outsider.customer, username="demo-admin", role=Role.ADMIN)
    with pytest.raises(CommandError, match="demo-admin"):
        call_command("loaddemo", stdout=io.StringIO())
    foreign.refresh_from_db()
    assert foreign.check_password(PASSWORD)
    assert not Customer.objects.filter(slug="demo").exists()


@pytest.mark.django_db
def test_loaddemo_never_makes_a_portal_user_staff(customer):
    portal_user = UserFactory(customer=customer, username="support", role=Role.USER)
    with pytest.raises(CommandError, match="support"):
        call_command("loaddemo", stdout=io.StringIO())
    portal_user.refresh_from_db()
    assert not portal_user.is_staff and not portal_user.is_superuser
