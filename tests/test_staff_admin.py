"""Django admin at /staff/: every model support looks at, and every change going through
the same services as the portal and the API (same rules, same messages, versioned and
logged as the staff user). The `staff` fixture is a plain staff account, not a superuser:
staff have every action, in the admin as in the portal."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Customer, Role, User
from devices.models import Device, DeviceState, Site
from licensing.models import Assignment, Entitlement, LicenseType
from provisioning.models import Bootstrap, Token
from provisioning.services.tokens import DIRECT_ACCESS_BOOTSTRAP
from reports.admin import EventAdmin, HistoryAdmin
from reports.models import AppId, Event, History, Severity
from tests.devices.factories import DeviceFactory, HistoryFactory, SiteFactory
from tests.factories import PASSWORD, CustomerFactory, StaffFactory, UserFactory
from tests.provisioning.factories import BootstrapFactory, TokenFactory


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def form_of(response):
    return response.context["adminform"].form


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def bootstrap(customer):
    return BootstrapFactory(customer=customer, name="Site-1094", parameters={"site": "s-1094"})


@pytest.fixture
def token(customer, bootstrap):
    return TokenFactory(customer=customer, value="Acme-PTT-1", bootstrap=bootstrap)


@pytest.fixture
def everything(customer, super_admin, bootstrap, token):
    """One object of each model the admin shows."""
    device = DeviceFactory(customer=customer, on_site=SiteFactory(customer=customer))
    entitlement = Entitlement.objects.create(
        customer=customer,
        activation_id="aid-0001-4c3b-8e21-e295c6d1",
        license_type=LicenseType.STANDARD,
        term="1 Year Term",
        total=10,
        expiration=timezone.now() + timedelta(days=365),
    )
    assignment = Assignment.objects.create(
        customer=customer,
        entitlement=entitlement,
        device=device,
        license_type=LicenseType.STANDARD,
        feature="CUCM",
        last_contact=timezone.now(),
    )
    event = Event.objects.create(customer=customer, type="TOKEN_ADDED", info="Token added")
    return {
        Customer: customer,
        User: super_admin,
        Bootstrap: bootstrap,
        Token: token,
        Device: device,
        Site: device.site,
        Entitlement: entitlement,
        Assignment: assignment,
        History: HistoryFactory(customer=customer),
        Event: event,
    }


def token_form(token, **overrides):
    data = {
        "value": token.value,
        "app_id": token.app_id,
        "bootstrap": token.bootstrap_id,
        "description": token.description,
        "expires_at_0": "",
        "expires_at_1": "",
        "max_redemptions": "",
        "version": token.version,
    }
    if token.revoked:
        data["revoked"] = "on"
    data.update(overrides)
    return data


def bootstrap_form(bootstrap, **overrides):
    return {
        "name": bootstrap.name,
        "parameters": '{"site": "s-1094"}',
        "version": bootstrap.version,
        **overrides,
    }


def portal_user_form(user, **overrides):
    return {"role": user.role, "name": user.name, "email": user.email, **overrides}


# --- Pages and permissions -------------------------------------------------------------


@pytest.mark.django_db
def test_staff_see_every_model_list_and_object_page(staff_client, everything):
    index = staff_client.get(reverse("admin:index"))
    assert index.status_code == 200
    listed = {
        (app["app_label"], model["object_name"])
        for app in index.context["app_list"]
        for model in app["models"]
    }
    for model, obj in everything.items():
        assert (model._meta.app_label, model.__name__) in listed
        assert staff_client.get(admin_url(model, "changelist")).status_code == 200, model
        page = staff_client.get(admin_url(model, "change", obj.pk))
        assert page.status_code == 200, model


@pytest.mark.django_db
def test_staff_account_pages_answer_too(staff_client, staff):
    assert staff_client.get(admin_url(User, "change", staff.pk)).status_code == 200
    assert staff_client.get(admin_url(User, "add")).status_code == 200
    password_page = reverse("admin:auth_user_password_change", args=[staff.pk])
    assert staff_client.get(password_page).status_code == 200


@pytest.mark.django_db
def test_portal_users_have_no_staff_admin(client, super_admin):
    client.force_login(super_admin)
    response = client.get(admin_url(Customer, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "views"),
    [
        (Customer, ["delete"]),
        (Device, ["add", "delete"]),
        (History, ["add", "delete"]),
        (Event, ["add", "delete"]),
        (Entitlement, ["add", "delete"]),
        (Assignment, ["add", "delete"]),
    ],
)
def test_add_and_delete_are_refused_where_disabled(staff_client, everything, model, views):
    obj = everything[model]
    for view in views:
        url = admin_url(model, view) if view == "add" else admin_url(model, view, obj.pk)
        assert staff_client.get(url).status_code == 403, (model, view)
        assert staff_client.post(url, {"post": "yes"}).status_code == 403, (model, view)
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Device, History, Event, Entitlement, Assignment])
def test_read_only_models_cannot_be_changed(staff_client, everything, model):
    obj = everything[model]
    page = staff_client.get(admin_url(model, "change", obj.pk))
    assert 'name="_save"' not in page.content.decode()
    assert staff_client.post(admin_url(model, "change", obj.pk), {}).status_code == 403


@pytest.mark.django_db
def test_site_is_read_only(staff_client, everything):
    site, model = everything[Site], Site
    assert staff_client.get(admin_url(model, "add")).status_code == 403
    assert staff_client.post(admin_url(model, "change", site.pk), {"name": "x"}).status_code == 403
    assert (
        staff_client.post(admin_url(model, "delete", site.pk), {"post": "yes"}).status_code == 403
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "admin_class"), [(History, HistoryAdmin), (Event, EventAdmin)])
def test_history_and_events_never_count_the_whole_table(staff_client, customer, model, admin_class):
    assert admin_class.show_full_result_count is False
    assert admin_class.date_hierarchy == "created"
    assert admin_class.list_select_related
    for _ in range(3):
        if model is History:
            HistoryFactory(customer=customer)
        else:
            Event.objects.create(customer=customer, type="SITE_SYNC", info="3 sites synced")
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 3
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    # The one count is over a LIMITed subquery (at most COUNT_CAP + 1 rows).
    assert len(counts) == 1
    assert "LIMIT" in counts[0].upper()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "params"),
    [
        (History, {"action__exact": "TOKEN\x00"}),
        (History, {"created__year": "99999999999999999999"}),
        (Event, {"type": "X\x00"}),
        (Event, {"q": "support\x00"}),
        (Device, {"state__exact": "active\x00"}),
        (User, {"role__exact": "admin\x00"}),
    ],
)
def test_bad_list_filters_are_refused_not_a_server_error(staff_client, model, params):
    response = staff_client.get(admin_url(model, "changelist"), params)
    if any("\x00" in value for value in params.values()):
        # Refused before any view: no address may carry a NUL (core.middleware).
        assert response.status_code == 400
    else:
        assert response.status_code == 302
        assert response["Location"] == admin_url(model, "changelist") + "?e=1"


@pytest.mark.django_db
def test_event_filters_and_search(staff_client, customer, other_customer, staff):
    Event.objects.create(customer=customer, type="TOKEN_ADDED", info="Token Acme-1 added")
    Event.objects.create(
        customer=other_customer,
        type="SITE_SYNC",
        severity=Severity.ERROR,
        info="Site sync failed",
        username="support",
    )
    url = admin_url(Event, "changelist")
    by_type = staff_client.get(url, {"type": "SITE_SYNC"})
    assert [e.info for e in by_type.context["cl"].result_list] == ["Site sync failed"]
    assert ("SITE_SYNC", "SITE_SYNC") in by_type.context["cl"].filter_specs[0].lookup_choices
    by_severity = staff_client.get(url, {"severity__exact": Severity.ERROR})
    assert by_severity.context["cl"].result_count == 1
    by_customer = staff_client.get(url, {"customer__id__exact": customer.pk})
    assert [e.info for e in by_customer.context["cl"].result_list] == ["Token Acme-1 added"]
    by_name = staff_client.get(url, {"q": "support"})
    assert by_name.context["cl"].result_count == 1


@pytest.mark.django_db
def test_history_search_by_token_and_device(staff_client, customer):
    HistoryFactory(customer=customer, token="tok-a", device_id="TC52_AAA")
    HistoryFactory(customer=customer, token="tok-b", device_id="TC52_BBB")
    url = admin_url(History, "changelist")
    assert staff_client.get(url, {"q": "tok-a"}).context["cl"].result_count == 1
    assert staff_client.get(url, {"q": "BBB"}).context["cl"].result_count == 1


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Device, History, Event, Token, User, Assignment])
def test_lists_cost_the_same_queries_for_more_rows(staff_client, customer, model):
    def add_rows(n):
        for i in range(n):
            if model is Device:
                DeviceFactory(customer=customer, on_site=SiteFactory(customer=customer))
            elif model is History:
                HistoryFactory(customer=customer)
            elif model is Event:
                Event.objects.create(customer=customer, type="X", info="x")
            elif model is Token:
                TokenFactory(customer=customer)
            elif model is User:
                UserFactory(customer=CustomerFactory())
            else:
                entitlement = Entitlement.objects.create(
                    customer=customer,
                    activation_id=f"aid-{model.objects.count()}-{i}",
                    license_type=LicenseType.STANDARD,
                    term="1 Year Term",
                    total=10,
                    expiration=timezone.now() + timedelta(days=365),
                )
                Assignment.objects.create(
                    customer=customer,
                    entitlement=entitlement,
                    device=DeviceFactory(customer=customer),
                    license_type=LicenseType.STANDARD,
                    feature="CUCM",
                    last_contact=timezone.now(),
                )

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(admin_url(model, "changelist")).status_code == 200
        return len(captured)

    add_rows(2)
    few = queries()
    add_rows(8)
    assert queries() == few


# --- Customers -------------------------------------------------------------------------


@pytest.mark.django_db
def test_adding_a_customer_creates_its_defaults_through_the_service(staff_client, staff):
    response = staff_client.post(
        admin_url(Customer, "add"),
        {
            "name": "Initech",
            "slug": "initech",
            "contact_name": "Bill",
            "contact_email": "it@initech.example",
            "contact_phone": "",
            "extension_manager_url": "",
            "time_zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302, form_of(response).errors
    customer = Customer.objects.get(slug="initech")
    assert customer.time_zone == "Europe/Berlin"
    bootstrap = Bootstrap.objects.get(customer=customer)
    assert bootstrap.name == DIRECT_ACCESS_BOOTSTRAP
    token = Token.objects.get(customer=customer)
    assert token.bootstrap == bootstrap and token.app_id == AppId.VOICE
    events = Event.objects.filter(customer=customer)
    assert {e.type for e in events} == {"BOOTSTRAP_ADDED", "TOKEN_ADDED", "CATEGORY_ADDED"}
    assert {(e.username, e.user) for e in events} == {("support", staff)}


@pytest.mark.django_db
def test_adding_a_customer_with_a_taken_name_is_a_form_error(staff_client, customer):
    response = staff_client.post(
        admin_url(Customer, "add"), {"name": customer.name, "slug": "another", "time_zone": "UTC"}
    )
    assert response.status_code == 200
    assert "name" in form_of(response).errors
    assert not Customer.objects.filter(slug="another").exists()


@pytest.mark.django_db
def test_changing_a_customer_deactivates_it_through_the_service(staff_client, customer):
    response = staff_client.post(
        admin_url(Customer, "change", customer.pk),
        {
            "name": customer.name,
            "slug": customer.slug,
            "contact_name": "New Contact",
            "contact_email": customer.contact_email,
            "contact_phone": "",
            "extension_manager_url": "",
            "ptt_server": "ptt1",
            "license_account": "",
            "time_zone": "America/New_York",
        },
    )
    assert response.status_code == 302, form_of(response).errors
    customer.refresh_from_db()
    assert customer.is_active is False
    assert (customer.contact_name, customer.ptt_server) == ("New Contact", "ptt1")
    assert customer.time_zone == "America/New_York"


@pytest.mark.django_db
def test_customer_form_errors_are_shown_not_raised(staff_client, customer):
    response = staff_client.post(
        admin_url(Customer, "change", customer.pk),
        {
            "name": "Bad\x00Name",
            "slug": "not a slug",
            "contact_email": "nope",
            "extension_manager_url": "ftp://x",
            "time_zone": "Mars/Olympus_Mons",
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert {"name", "slug", "contact_email", "extension_manager_url", "time_zone"} <= set(
        form_of(response).errors
    )
    customer.refresh_from_db()
    assert customer.name == "Acme Logistics"


# --- Portal users ----------------------------------------------------------------------

LAST_SUPER_ADMIN = "sam is the last Super-Admin of Acme Logistics; add another first."


@pytest.mark.django_db
def test_demoting_the_last_super_admin_is_refused_with_the_services_message(
    staff_client, super_admin
):
    response = staff_client.post(
        admin_url(User, "change", super_admin.pk),
        portal_user_form(super_admin, role=Role.ADMIN, name="Renamed"),
    )
    assert response.status_code == 200
    assert form_of(response).errors["role"] == [LAST_SUPER_ADMIN]
    assert LAST_SUPER_ADMIN in response.content.decode().replace("&#x27;", "'")
    super_admin.refresh_from_db()
    assert (super_admin.role, super_admin.name) != (Role.ADMIN, "Renamed")
    assert super_admin.role == Role.SUPER_ADMIN


@pytest.mark.django_db
def test_portal_user_change_goes_through_the_service(staff_client, super_admin, admin):
    UserFactory(customer=super_admin.customer, role=Role.SUPER_ADMIN, username="sue")
    response = staff_client.post(
        admin_url(User, "change", super_admin.pk),
        portal_user_form(super_admin, role=Role.USER, name="Sam S.", email="sam@acme.example"),
    )
    assert response.status_code == 302
    super_admin.refresh_from_db()
    assert (super_admin.role, super_admin.name, super_admin.email) == (
        Role.USER,
        "Sam S.",
        "sam@acme.example",
    )
    # Fields the service does not change stay as they are, whatever is posted.
    response = staff_client.post(
        admin_url(User, "change", admin.pk),
        portal_user_form(admin, username="hijack", is_staff="on", customer=""),
    )
    assert response.status_code == 302
    admin.refresh_from_db()
    assert (admin.username, admin.is_staff, admin.customer) == ("ada", False, super_admin.customer)


@pytest.mark.django_db
def test_deleting_the_last_super_admin_is_refused(staff_client, super_admin):
    response = staff_client.post(
        admin_url(User, "delete", super_admin.pk), {"post": "yes"}, follow=True
    )
    assert messages_of(response) == [LAST_SUPER_ADMIN]
    assert User.objects.filter(pk=super_admin.pk).exists()
    assert response.redirect_chain[-1][0] == admin_url(User, "change", super_admin.pk)


@pytest.mark.django_db
def test_bulk_delete_goes_through_the_service_per_user(staff_client, super_admin, viewer):
    url = admin_url(User, "changelist")
    selected = {"action": "delete_selected", "_selected_action": [super_admin.pk, viewer.pk]}
    confirm = staff_client.post(url, selected)
    assert confirm.status_code == 200
    assert "Are you sure" in confirm.content.decode()
    response = staff_client.post(url, {**selected, "post": "yes"}, follow=True)
    assert messages_of(response) == [LAST_SUPER_ADMIN, "Deleted 1 portal user."]
    assert User.objects.filter(pk=super_admin.pk).exists()
    assert not User.objects.filter(pk=viewer.pk).exists()


@pytest.mark.django_db
def test_deleting_a_portal_user_through_the_admin(staff_client, viewer):
    response = staff_client.post(admin_url(User, "delete", viewer.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=viewer.pk).exists()


@pytest.mark.django_db
def test_adding_a_portal_user_goes_through_the_service(staff_client, customer):
    data = {
        "username": "newbie",
        "email": "newbie@acme.example",
        "name": "New Bie",
        "customer": customer.pk,
        "role": Role.ADMIN,
        "usable_password": "true",
        "password1": "short",
        "password2": "short",
    }
    weak = staff_client.post(admin_url(User, "add"), data)
    assert weak.status_code == 200
    assert "password2" in form_of(weak).errors
    assert not User.objects.filter(username="newbie").exists()
    data["password1"] = data["password2"] = PASSWORD
    response = staff_client.post(admin_url(User, "add"), data)
    assert response.status_code == 302, form_of(response).errors
    user = User.objects.get(username="newbie")
    assert (user.customer, user.role, user.name) == (customer, Role.ADMIN, "New Bie")
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_portal_user_needs_a_role(staff_client, customer):
    response = staff_client.post(
        admin_url(User, "add"),
        {
            "username": "norole",
            "email": "norole@acme.example",
            "customer": customer.pk,
            "role": "",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert form_of(response).errors
    assert not User.objects.filter(username="norole").exists()


@pytest.mark.django_db
def test_portal_user_password_goes_through_the_service(staff_client, viewer):
    url = reverse("admin:auth_user_password_change", args=[viewer.pk])
    page = staff_client.get(url)
    assert "usable_password" not in page.context["form"].fields
    weak = staff_client.post(url, {"password1": "viewer", "password2": "viewer"})
    assert weak.status_code == 200
    assert weak.context["form"].errors
    response = staff_client.post(
        url, {"password1": "N3w-long-passphrase", "password2": "N3w-long-passphrase"}
    )
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert viewer.check_password("N3w-long-passphrase")


@pytest.mark.django_db
def test_staff_accounts_keep_djangos_user_admin(staff_client, staff):
    colleague = StaffFactory(username="colleague", name="Col League")
    response = staff_client.post(
        admin_url(User, "add"),
        {
            "username": "helper",
            "email": "helper@vendor.example",
            "name": "",
            "customer": "",
            "role": "",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, form_of(response).errors
    helper = User.objects.get(username="helper")
    assert helper.customer is None and helper.check_password(PASSWORD)

    response = staff_client.post(
        admin_url(User, "change", colleague.pk),
        {
            "username": "colleague",
            "name": "Colleague",
            "email": "colleague@vendor.example",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302, form_of(response).errors
    colleague.refresh_from_db()
    assert (colleague.name, colleague.is_staff) == ("Colleague", True)
    # Only a superuser makes superusers.
    assert colleague.is_superuser is False

    url = reverse("admin:auth_user_password_change", args=[colleague.pk])
    staff_client.post(
        url,
        {"usable_password": "true", "password1": "Another-pass-99", "password2": "Another-pass-99"},
    )
    colleague.refresh_from_db()
    assert colleague.check_password("Another-pass-99")


@pytest.mark.django_db
def test_staff_cannot_take_over_a_superuser(staff_client):
    root = StaffFactory(username="root", is_superuser=True)
    assert staff_client.get(admin_url(User, "change", root.pk)).status_code == 200  # view only
    assert staff_client.post(admin_url(User, "change", root.pk), {}).status_code == 403
    url = reverse("admin:auth_user_password_change", args=[root.pk])
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(admin_url(User, "delete", root.pk), {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"}
    assert staff_client.post(admin_url(User, "changelist"), bulk).status_code == 403
    assert User.objects.filter(pk=root.pk).exists()


# --- Tokens ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_editing_a_token_bumps_its_version_and_logs_the_staff_user(staff_client, staff, token):
    response = staff_client.post(
        admin_url(Token, "change", token.pk),
        token_form(token, description="Warehouse", max_redemptions="5"),
    )
    assert response.status_code == 302, form_of(response).errors
    token.refresh_from_db()
    assert (token.version, token.description, token.max_redemptions) == (2, "Warehouse", 5)
    event = Event.objects.get(type="TOKEN_UPDATED")
    assert (event.username, event.user, event.customer) == ("support", staff, token.customer)
    assert event.data["after"]["version"] == 2


@pytest.mark.django_db
def test_editing_a_stale_token_is_refused_and_changes_nothing(staff_client, token):
    loaded = token_form(token, description="Mine")
    Token.objects.filter(pk=token.pk).update(version=2, description="Theirs")
    response = staff_client.post(admin_url(Token, "change", token.pk), loaded)
    assert response.status_code == 200
    assert form_of(response).non_field_errors() == [
        "This token was changed by someone else (now version 2, you edited version 1); "
        "reload it and apply your change again."
    ]
    token.refresh_from_db()
    assert (token.version, token.description) == (2, "Theirs")
    assert not Event.objects.filter(type="TOKEN_UPDATED").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": "has space"}, "value"),
        ({"value": "x" * 65}, "value"),
        ({"value": "nul\x00"}, "value"),
        ({"description": "nul\x00"}, "description"),
        ({"max_redemptions": "0"}, "max_redemptions"),
        ({"max_redemptions": "99999999999999999999999"}, "max_redemptions"),
        ({"max_redemptions": "1e999"}, "max_redemptions"),
        ({"max_redemptions": "9" * 5000}, "max_redemptions"),
        ({"app_id": "WFC_NOPE"}, "app_id"),
        ({"bootstrap": "99999999999999999999999"}, "bootstrap"),
        ({"bootstrap": "x"}, "bootstrap"),
        ({"expires_at_0": "99999-01-01", "expires_at_1": "10:00"}, "expires_at"),
        ({"version": "abc"}, None),
        ({"version": "9" * 30}, None),
    ],
)
def test_bad_token_input_is_a_form_error(staff_client, token, overrides, field):
    response = staff_client.post(
        admin_url(Token, "change", token.pk), token_form(token, **overrides)
    )
    assert response.status_code == 200
    form = form_of(response)
    if field is None:
        assert form.non_field_errors()
    else:
        assert field in form.errors, form.errors
    token.refresh_from_db()
    assert token.version == 1


@pytest.mark.django_db
def test_a_token_cannot_use_another_customers_bootstrap(staff_client, token, other_customer):
    theirs = BootstrapFactory(customer=other_customer)
    response = staff_client.post(
        admin_url(Token, "change", token.pk), token_form(token, bootstrap=theirs.pk)
    )
    assert "bootstrap" in form_of(response).errors
    token.refresh_from_db()
    assert token.bootstrap_id != theirs.pk


@pytest.mark.django_db
def test_adding_a_token_goes_through_the_service(staff_client, staff, customer, bootstrap, token):
    data = token_form(token, value="acme-ptt-1")
    data.pop("version")
    data["customer"] = customer.pk
    taken = staff_client.post(admin_url(Token, "add"), data)
    assert "value" in form_of(taken).errors  # values are unique ignoring case
    data["value"] = "Acme-PTT-2"
    response = staff_client.post(admin_url(Token, "add"), data)
    assert response.status_code == 302, form_of(response).errors
    added = Token.objects.get(value="Acme-PTT-2")
    assert (added.customer, added.bootstrap, added.version) == (customer, bootstrap, 1)
    assert Event.objects.get(type="TOKEN_ADDED").username == "support"


@pytest.mark.django_db
def test_deleting_a_token_goes_through_the_service(staff_client, staff, token):
    response = staff_client.post(admin_url(Token, "delete", token.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Token.objects.filter(pk=token.pk).exists()
    event = Event.objects.get(type="TOKEN_DELETED")
    assert (event.username, event.user) == ("support", staff)


# --- Bootstraps ------------------------------------------------------------------------


@pytest.mark.django_db
def test_editing_a_bootstrap_bumps_its_version_and_logs_the_staff_user(
    staff_client, staff, bootstrap
):
    response = staff_client.post(
        admin_url(Bootstrap, "change", bootstrap.pk),
        bootstrap_form(bootstrap, parameters='{"site": "s-2000", "volume": 7}'),
    )
    assert response.status_code == 302, form_of(response).errors
    bootstrap.refresh_from_db()
    assert (bootstrap.version, bootstrap.parameters) == (2, {"site": "s-2000", "volume": 7})
    event = Event.objects.get(type="BOOTSTRAP_UPDATED")
    assert (event.username, event.user) == ("support", staff)


@pytest.mark.django_db
def test_the_bootstrap_form_shows_parameters_as_json(staff_client, bootstrap):
    page = staff_client.get(admin_url(Bootstrap, "change", bootstrap.pk))
    assert form_of(page)["parameters"].value() == '{\n  "site": "s-1094"\n}'
    assert 'type="hidden" name="version" value="1"' in page.content.decode()


@pytest.mark.django_db
def test_editing_a_stale_bootstrap_is_refused_and_changes_nothing(staff_client, bootstrap):
    loaded = bootstrap_form(bootstrap, parameters='{"site": "mine"}')
    Bootstrap.objects.filter(pk=bootstrap.pk).update(version=3, parameters={"site": "theirs"})
    response = staff_client.post(admin_url(Bootstrap, "change", bootstrap.pk), loaded)
    assert response.status_code == 200
    assert form_of(response).non_field_errors() == [
        "This bootstrap was changed by someone else (now version 3, you edited version 1); "
        "reload it and apply your change again."
    ]
    bootstrap.refresh_from_db()
    assert (bootstrap.version, bootstrap.parameters) == (3, {"site": "theirs"})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "parameters",
    [
        "{not json",
        '["site"]',
        '{"x": NaN}',
        '{"x": 1e999}',
        '{"x": "\\u0000"}',
        '{"x": "\\ud800"}',
        "{\x00}",
        "[" * 100_000,
        '{"a":' * 100 + "1" + "}" * 100,
        "",
    ],
)
def test_bad_parameters_are_a_form_error(staff_client, bootstrap, parameters):
    response = staff_client.post(
        admin_url(Bootstrap, "change", bootstrap.pk),
        bootstrap_form(bootstrap, parameters=parameters),
    )
    assert response.status_code == 200
    assert "parameters" in form_of(response).errors
    bootstrap.refresh_from_db()
    assert bootstrap.version == 1


@pytest.mark.django_db
def test_bad_bootstrap_names_are_a_form_error(staff_client, bootstrap, customer):
    BootstrapFactory(customer=customer, name="Taken")
    for name in ["Taken", "x" * 129, "tab\there"]:
        response = staff_client.post(
            admin_url(Bootstrap, "change", bootstrap.pk), bootstrap_form(bootstrap, name=name)
        )
        assert "name" in form_of(response).errors, name
    bootstrap.refresh_from_db()
    assert bootstrap.name == "Site-1094"


@pytest.mark.django_db
def test_adding_a_bootstrap_goes_through_the_service(staff_client, customer, bootstrap):
    data = {"customer": customer.pk, "name": "Site-1094", "parameters": "{}"}
    taken = staff_client.post(admin_url(Bootstrap, "add"), data)
    assert "name" in form_of(taken).errors
    data["name"] = "Site-2000"
    response = staff_client.post(admin_url(Bootstrap, "add"), data)
    assert response.status_code == 302, form_of(response).errors
    assert Bootstrap.objects.get(customer=customer, name="Site-2000").parameters == {}
    assert Event.objects.get(type="BOOTSTRAP_ADDED").username == "support"


@pytest.mark.django_db
def test_deleting_a_bootstrap_in_use_is_refused_with_the_services_message(
    staff_client, bootstrap, token
):
    confirm = staff_client.get(admin_url(Bootstrap, "delete", bootstrap.pk))
    assert confirm.status_code == 200
    response = staff_client.post(
        admin_url(Bootstrap, "delete", bootstrap.pk), {"post": "yes"}, follow=True
    )
    assert messages_of(response) == [
        "Bootstrap Site-1094 is used by token(s) Acme-PTT-1; "
        "delete them or give them another bootstrap first."
    ]
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()
    assert not Event.objects.filter(type="BOOTSTRAP_DELETED").exists()


@pytest.mark.django_db
def test_bulk_deleting_bootstraps_goes_through_the_service(
    staff_client, staff, customer, bootstrap, token
):
    unused = BootstrapFactory(customer=customer, name="Unused")
    response = staff_client.post(
        admin_url(Bootstrap, "changelist"),
        {"action": "delete_selected", "_selected_action": [bootstrap.pk, unused.pk], "post": "yes"},
        follow=True,
    )
    assert messages_of(response) == [
        "Bootstrap Site-1094 is used by token(s) Acme-PTT-1; "
        "delete them or give them another bootstrap first.",
        "Deleted 1 bootstrap.",
    ]
    assert list(Bootstrap.objects.filter(customer=customer)) == [bootstrap]
    event = Event.objects.get(type="BOOTSTRAP_DELETED")
    assert (event.username, event.user) == ("support", staff)


# --- Devices ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_mark_obsolete_goes_through_the_service(staff_client, staff, customer):
    device = DeviceFactory(customer=customer)
    untouched = DeviceFactory(customer=customer)
    response = staff_client.post(
        admin_url(Device, "changelist"),
        {"action": "mark_obsolete", "_selected_action": [device.pk]},
        follow=True,
    )
    assert messages_of(response) == ["1 device(s) marked obsolete."]
    device.refresh_from_db()
    untouched.refresh_from_db()
    assert (device.state, untouched.state) == (DeviceState.OBSOLETE, DeviceState.ACTIVE)
    event = Event.objects.get(type="DEVICE_OBSOLETED")
    assert (event.username, event.user, event.customer) == ("support", staff, customer)


@pytest.mark.django_db
def test_device_page_hides_the_direct_add_password(staff_client, customer):
    device = DeviceFactory(customer=customer, password="pbkdf2_sha256$1$salt$hash")
    page = staff_client.get(admin_url(Device, "change", device.pk))
    assert "pbkdf2_sha256" not in page.content.decode()
