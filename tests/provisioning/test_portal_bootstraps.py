"""The Bootstraps page: list, add (typed JSON or converted XML), edit, delete."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from provisioning.models import Bootstrap
from reports.models import Event
from tests.provisioning.factories import BootstrapFactory, TokenFactory

LIST = reverse("provisioning:bootstrap_list")
ADD = reverse("provisioning:bootstrap_add")


def edit_url(bootstrap):
    return reverse("provisioning:bootstrap_edit", args=[bootstrap.pk])


def delete_url(bootstrap):
    return reverse("provisioning:bootstrap_delete", args=[bootstrap.pk])


def form(**overrides):
    data = {"name": "Site-1094", "parameters": '{"site": "site-1094"}'}
    data.update(overrides)
    return data


def errors_of(response):
    return response.context["form"].errors


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<map><string name="x">&lol4;</string></map>
"""

VOICE_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<map>
  <string name="sip_server">10.0.0.1</string>
  <boolean name="tls" value="true"/>
  <int name="port" value="5060"/>
</map>
"""


# --- List ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_shows_only_this_customers_bootstraps(portal_client, viewer, customer, other_customer):
    BootstrapFactory(customer=customer, name="Ours", parameters={"var_location": "https://em"})
    BootstrapFactory(customer=other_customer, name="Theirs")
    response = portal_client(viewer).get(LIST)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Ours" in body
    assert "var_location" in body
    assert "Theirs" not in body
    assert "1 record(s) found" in body


@pytest.mark.django_db
def test_list_search_sort_and_page(
    portal_client, admin, customer, other_customer, django_assert_max_num_queries
):
    bootstraps = [BootstrapFactory(customer=customer, name=f"Bulk-{i:02}") for i in range(32)]
    for bootstrap in bootstraps:
        TokenFactory(customer=customer, bootstrap=bootstrap)
    BootstrapFactory(customer=other_customer, name="Bulk-99")
    client = portal_client(admin)

    # Parameters are searched too: the factory sets {"site": "bulk-07"}.
    found = client.get(LIST, {"q": "bulk-07"}).context["object_list"]
    assert [b.name for b in found] == ["Bulk-07"]

    names = [b.name for b in client.get(LIST, {"ordering": "-name"}).context["object_list"]]
    assert names == sorted(names, reverse=True)
    assert len(names) == 25

    # Session, user, customer, count, page (token counts joined in): five, whatever the
    # number of rows or tokens.
    with django_assert_max_num_queries(5):
        page2 = client.get(LIST, {"ordering": "name", "page": 2})
    rows = list(page2.context["object_list"])
    assert [b.name for b in rows] == [f"Bulk-{i:02}" for i in range(25, 32)]
    assert all(b.token_count == 1 for b in rows)


@pytest.mark.django_db
def test_user_sees_no_change_buttons(portal_client, viewer, customer):
    bootstrap = BootstrapFactory(customer=customer)
    body = portal_client(viewer).get(LIST).content.decode()
    assert bootstrap.name in body
    assert ADD not in body
    assert edit_url(bootstrap) not in body
    assert delete_url(bootstrap) not in body


@pytest.mark.django_db
def test_admin_sees_change_buttons(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer)
    body = portal_client(admin).get(LIST).content.decode()
    assert ADD in body
    assert edit_url(bootstrap) in body
    assert delete_url(bootstrap) in body


# --- Add and edit ----------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_adds_a_bootstrap(portal_client, admin, customer):
    response = portal_client(admin).post(ADD, form())
    assert response.status_code == 302
    assert response["Location"] == LIST
    bootstrap = Bootstrap.objects.get()
    assert bootstrap.customer == customer
    assert bootstrap.name == "Site-1094"
    assert bootstrap.parameters == {"site": "site-1094"}
    assert Event.objects.filter(type="BOOTSTRAP_ADDED", user=admin).exists()


@pytest.mark.django_db
def test_add_does_not_replace_an_existing_bootstrap(portal_client, admin, customer):
    existing = BootstrapFactory(customer=customer, name="Site-1094", parameters={"a": 1})
    response = portal_client(admin).post(ADD, form(parameters='{"b": 2}'))
    assert response.status_code == 200
    assert "already exists" in str(errors_of(response)["name"])
    existing.refresh_from_db()
    assert existing.parameters == {"a": 1}
    assert existing.version == 1
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_admin_edits_a_bootstrap(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Old", parameters={})
    client = portal_client(admin)
    page = client.get(edit_url(bootstrap))
    assert page.status_code == 200
    assert 'name="version" value="1"' in page.content.decode()

    response = client.post(
        edit_url(bootstrap), form(name="New", parameters='{"x": true}', version=1)
    )
    assert response.status_code == 302
    bootstrap.refresh_from_db()
    assert (bootstrap.name, bootstrap.parameters, bootstrap.version) == ("New", {"x": True}, 2)


@pytest.mark.django_db
def test_stale_version_is_refused(portal_client, admin, super_admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Shared", parameters={"v": 1})
    # Someone else saves first: the stored version is now 2.
    portal_client(super_admin).post(
        edit_url(bootstrap), form(name="Shared", parameters='{"v": 2}', version=1)
    )
    response = portal_client(admin).post(
        edit_url(bootstrap), form(name="Shared", parameters='{"v": 3}', version=1)
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "changed by someone else" in body
    assert "reload" in body.lower()
    bootstrap.refresh_from_db()
    assert bootstrap.parameters == {"v": 2}
    assert bootstrap.version == 2


@pytest.mark.django_db
def test_edit_without_version_is_refused(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Kept", parameters={})
    response = portal_client(admin).post(edit_url(bootstrap), form(name="Lost"))
    assert response.status_code == 200
    assert "version" in errors_of(response)
    bootstrap.refresh_from_db()
    assert bootstrap.name == "Kept"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (form(parameters='{"site": }'), "parameters", "line 1, column 10"),
        (form(parameters='{\n  "a": 1,\n}'), "parameters", "line 3, column 1"),
        (form(parameters='["not", "an", "object"]'), "parameters", "JSON object"),
        (form(name=""), "name", "required"),
        (form(name="x" * 129), "name", "at most 128"),
    ],
)
def test_invalid_input_shows_on_its_field_and_saves_nothing(
    portal_client, admin, data, field, message
):
    response = portal_client(admin).post(ADD, data)
    assert response.status_code == 200
    errors = errors_of(response)
    assert field in errors, errors
    assert message in str(errors[field])
    assert not Bootstrap.objects.exists()


@pytest.mark.django_db
def test_duplicate_name_on_rename_shows_on_name(portal_client, admin, customer):
    BootstrapFactory(customer=customer, name="Taken")
    bootstrap = BootstrapFactory(customer=customer, name="Mine")
    response = portal_client(admin).post(edit_url(bootstrap), form(name="Taken", version=1))
    assert "already exists" in str(errors_of(response)["name"])
    bootstrap.refresh_from_db()
    assert bootstrap.name == "Mine"


# --- XML upload ------------------------------------------------------------------------


@pytest.mark.django_db
def test_xml_upload_shows_converted_json_and_saves_nothing(portal_client, admin):
    upload = SimpleUploadedFile("voice.xml", VOICE_XML, content_type="text/xml")
    response = portal_client(admin).post(
        ADD, {"name": "Voice", "parameters": "{}", "xml_file": upload}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Review the converted parameters, then Save" in body
    shown = response.context["form"]["parameters"].value()
    assert json.loads(shown) == {"sip_server": "10.0.0.1", "tls": True, "port": 5060}
    assert response.context["form"]["name"].value() == "Voice"
    assert not Bootstrap.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_xml_upload_on_edit_keeps_the_version_and_saves_nothing(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Voice", parameters={"old": 1})
    upload = SimpleUploadedFile("voice.xml", VOICE_XML, content_type="text/xml")
    client = portal_client(admin)
    response = client.post(
        edit_url(bootstrap),
        {"name": "Voice", "parameters": '{"old": 1}', "version": 1, "xml_file": upload},
    )
    form_ = response.context["form"]
    assert form_["version"].value() == "1"
    bootstrap.refresh_from_db()
    assert bootstrap.parameters == {"old": 1}

    # Saving the reviewed parameters is the second, deliberate step.
    client.post(
        edit_url(bootstrap),
        {"name": "Voice", "parameters": form_["parameters"].value(), "version": 1},
    )
    bootstrap.refresh_from_db()
    assert bootstrap.parameters == {"sip_server": "10.0.0.1", "tls": True, "port": 5060}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (BILLION_LAUGHS, "entity declarations are not allowed"),
        (b"<map><string name='a'>x</map>", "not well-formed"),
        (b"<map>" + b" " * (1024 * 1024) + b"</map>", "larger than 1 MiB"),
    ],
)
def test_bad_xml_shows_on_the_file_field(portal_client, admin, content, message):
    upload = SimpleUploadedFile("evil.xml", content, content_type="text/xml")
    response = portal_client(admin).post(
        ADD, {"name": "Evil", "parameters": "{}", "xml_file": upload}
    )
    assert response.status_code == 200
    errors = errors_of(response)
    assert message in str(errors["xml_file"])
    assert "Review the converted parameters" not in response.content.decode()
    assert not Bootstrap.objects.exists()


@pytest.mark.django_db
def test_convert_without_a_file_asks_for_one_and_saves_nothing(portal_client, admin):
    response = portal_client(admin).post(ADD, form(convert="1"))
    assert "choose an XML settings file" in str(errors_of(response)["xml_file"])
    assert not Bootstrap.objects.exists()


# --- Delete ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_delete_asks_first(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Doomed")
    response = portal_client(admin).get(delete_url(bootstrap))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Doomed" in body
    assert 'name="version" value="1"' in body
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()


@pytest.mark.django_db
def test_admin_deletes_a_bootstrap(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Doomed")
    response = portal_client(admin).post(delete_url(bootstrap), {"version": 1}, follow=True)
    assert "Bootstrap Doomed deleted." in response.content.decode()
    assert not Bootstrap.objects.exists()
    assert Event.objects.filter(type="BOOTSTRAP_DELETED").exists()


@pytest.mark.django_db
def test_delete_of_a_bootstrap_in_use_names_the_tokens(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Busy")
    TokenFactory(customer=customer, bootstrap=bootstrap, value="Busy-One")
    TokenFactory(customer=customer, bootstrap=bootstrap, value="Busy-Two")
    client = portal_client(admin)
    page = client.get(delete_url(bootstrap)).content.decode()
    assert "used by 2 tokens" in page
    # The refusal does not offer the refused action.
    assert ">Delete</button>" not in page and "Back to bootstraps" in page
    free = client.get(delete_url(BootstrapFactory(customer=customer, name="Free"))).content
    assert b">Delete</button>" in free

    response = client.post(delete_url(bootstrap), {"version": 1}, follow=True)
    body = response.content.decode()
    assert "Busy-One, Busy-Two" in body
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()


@pytest.mark.django_db
def test_delete_with_stale_version_deletes_nothing(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Moving", version=3)
    response = portal_client(admin).post(delete_url(bootstrap), {"version": 2}, follow=True)
    assert "changed by someone else" in response.content.decode()
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()
    # Back on the confirmation page, which now carries the current version.
    assert response.context["object"].version == 3


@pytest.mark.django_db
def test_delete_without_version_deletes_nothing(portal_client, admin, customer):
    bootstrap = BootstrapFactory(customer=customer)
    portal_client(admin).post(delete_url(bootstrap))
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()


# --- Who may ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_gets_403_on_changes(portal_client, viewer, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Safe")
    client = portal_client(viewer)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form()).status_code == 403
    assert client.get(edit_url(bootstrap)).status_code == 403
    assert client.post(edit_url(bootstrap), form(version=1)).status_code == 403
    assert client.get(delete_url(bootstrap)).status_code == 403
    assert client.post(delete_url(bootstrap), {"version": 1}).status_code == 403
    assert list(Bootstrap.objects.values_list("name", flat=True)) == ["Safe"]


@pytest.mark.django_db
def test_outsider_gets_404_on_this_customers_bootstrap(portal_client, outsider, customer):
    bootstrap = BootstrapFactory(customer=customer, name="Private")
    client = portal_client(outsider)
    assert client.get(edit_url(bootstrap)).status_code == 404
    assert client.post(edit_url(bootstrap), form(version=1)).status_code == 404
    assert client.get(delete_url(bootstrap)).status_code == 404
    assert client.post(delete_url(bootstrap), {"version": 1}).status_code == 404
    bootstrap.refresh_from_db()
    assert bootstrap.name == "Private"


@pytest.mark.django_db
def test_staff_add_for_the_customer_they_act_for(portal_client, staff, customer):
    portal_client(staff).post(ADD, form())
    assert Bootstrap.objects.get().customer == customer


@pytest.mark.django_db
def test_the_add_form_names_no_button_it_does_not_have(portal_client, admin):
    body = portal_client(admin).get(ADD).content.decode()
    assert ">Add</button>" in body
    assert "click Save" not in body
