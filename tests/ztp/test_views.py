"""The customer page and its ZTP card, the card's actions and the phone list, by role.

The card takes the customer's own API key (made in the vendor's portal): Onboard and
Change API key are forms with the key's ID and secret; nothing is sent to the vendor
before both fields are sound, and the secret never comes back in a page."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from phones.files.access import file_secret, files_base_url
from ztp.adapters import adapter_for
from ztp.models import Action, Status, Vendor, ZtpAccount, ZtpPhone
from ztp.services.card import ztp_onboard
from ztp.services.phones import ztp_phone_register
from ztp.views import CARD_ACTIONS

from .conftest import BASE_URL, key_of

PAGE = "/admin/system/customer/"
PHONES = "/admin/system/customer/ztp/phones/"
MAC = "0004132A3B4C"
SCRIPT = {"HTTP_X_REQUESTED_WITH": "fetch"}  # how the card's script posts


def action_url(vendor: str, name: str) -> str:
    return reverse("ztp:action", kwargs={"vendor": vendor, "name": name})


def onboarded(customer, fake, vendor: str = "snom") -> ZtpAccount:
    ztp_onboard(customer=customer, vendor=vendor, user=None, base_url=BASE_URL, **key_of(fake))
    return ZtpAccount.objects.get(customer=customer, vendor=vendor)


def notice(body: str) -> str:
    """The text of the card's notice (the outcome of the action just run)."""
    start = body.index('data-field="notice">') + len('data-field="notice">')
    return body[start : body.index("</p>", start)]


def test_urls():
    assert reverse("ztp:customer_detail") == PAGE
    assert reverse("ztp:phone_list") == PHONES
    assert action_url("gigaset", "key") == "/admin/system/customer/ztp/actions/gigaset/key"


@pytest.mark.parametrize("who", ["super_admin", "staff"])
def test_super_admins_and_staff_see_the_customer_and_its_card(who, users, ready, portal_client):
    response = portal_client(users[who]).get(PAGE)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Logistics" in body and "Pat Contact" in body
    assert files_base_url(customer=ready, base_url="http://testserver") in body
    assert "Zero Touch Provisioning" in body
    assert body.count('class="ztp-vendor"') == 3
    for label in ("Snom (SRAPS)", "Gigaset (GRAPE)", "Yealink (YMCS RPS)"):
        assert f">{label}</h3>" in body
    assert body.count('data-field="status">Not configured<') == 3


def test_not_configured_offers_only_the_onboard_form_with_the_key_fields(
    users, ready, portal_client
):
    body = portal_client(users["super_admin"]).get(PAGE).content.decode()

    for vendor in Vendor.values:
        assert f'action="{action_url(vendor, "onboard")}"' in body
        # Where the customer makes the key, in the vendor's words.
        assert escape(adapter_for(vendor).key_help) in body
        for name in ("check", "rotate", "key", "disable", "repair"):
            assert f'action="{action_url(vendor, name)}"' not in body
    assert body.count('<input name="key_id" required maxlength="200"') == 3
    assert body.count('<input name="secret" type="password" required maxlength="200"') == 3
    assert body.count("API key ID <input") == 3 and body.count("Secret <input") == 3
    assert "Check now" not in body
    # Entering a key and pressing Onboard is deliberate enough: no confirmation step.
    assert "data-confirm" not in body


@pytest.mark.parametrize("who", ["admin", "viewer"])
@pytest.mark.parametrize("name", CARD_ACTIONS)
def test_admins_and_users_see_the_customer_but_cannot_drive_ztp(
    who, name, users, ready, sraps, portal_client
):
    client = portal_client(users[who])

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "Acme Logistics" in response.content.decode()
    assert "Zero Touch Provisioning" not in response.content.decode()
    # The ZTP area is refused with a page that says so.
    posted = client.post(action_url("snom", name), {"confirmed": "1", **key_of(sraps)})
    assert posted.status_code == 403
    assert client.get(PHONES).status_code == 403
    assert client.post(reverse("ztp:phone_add"), {"vendor": "snom", "mac": "x"}).status_code == 403
    assert not ZtpAccount.objects.exists()
    assert sraps.calls == []


def test_the_outsider_sees_their_own_customer_and_acts_on_it_only(
    users, ready, sraps, portal_client, other_customer
):
    ours = onboarded(ready, sraps)
    client = portal_client(users["outsider"])

    body = client.get(PAGE).content.decode()
    assert "Globex" in body and "Acme Logistics" not in body
    assert ours.company_id not in body and ours.key_id not in body
    assert body.count('data-field="status">Not configured<') == 3
    for name in ("rotate", "disable", "key", "check"):
        client.post(action_url("snom", name), {"confirmed": "1", **key_of(sraps)})

    # Acme's wiring is untouched; Globex has a row of its own (the refusals' lease).
    assert ZtpAccount.objects.get(pk=ours.pk).secrets == ours.secrets
    assert ZtpAccount.objects.get(pk=ours.pk).key_id == sraps.key_id
    globex = ZtpAccount.objects.get(customer__slug="globex")
    assert globex.status == Status.NOT_CONFIGURED and not globex.key_id


def test_the_page_renders_from_stored_state(
    users, ready, sraps, portal_client, django_assert_num_queries
):
    account = onboarded(ready, sraps)
    client = portal_client(users["super_admin"])
    calls_before = len(sraps.calls)

    # 1. session, 2. user, 3. acting customer, 4. its phone file URL's secret, 5. its ZTP
    # accounts, 6. phone counts per vendor, 7. the month's direct additions (base.html);
    # no vendor call.
    with django_assert_num_queries(7):
        response = client.get(PAGE)

    body = response.content.decode()
    assert f'data-field="company"><code>{account.company_id}</code>' in body
    assert f'data-field="key"><code>{sraps.key_id}</code>' in body
    assert 'data-field="status">Configured<' in body
    assert sraps.secret not in body
    assert len(sraps.calls) == calls_before


def test_configured_offers_rotate_change_key_disable_and_check(users, ready, sraps, portal_client):
    onboarded(ready, sraps)

    body = portal_client(users["super_admin"]).get(PAGE).content.decode()

    snom = body[body.index('data-vendor="snom"') : body.index('data-vendor="gigaset"')]
    for name in ("rotate", "key", "disable", "check"):
        assert f'action="{action_url("snom", name)}"' in snom
    for name in ("onboard", "repair"):  # Repair only after a check found a drift
        assert f'action="{action_url("snom", name)}"' not in snom
    assert ">Rotate</button>" in snom and ">Disable</button>" in snom
    assert ">Check now</button>" in snom
    # Change API key is a form with the key's fields, folded until opened; Rotate and
    # Disable ask first, and Rotate is posted as a whole page (it changes the URL above).
    assert "<legend>Change API key</legend>" in snom
    assert '<details class="ztp-key-change"><summary>Change API key</summary>' in snom
    assert snom.count("data-whole-page") == 1
    assert snom.count('name="key_id"') == snom.count('name="secret"') == 1
    assert snom.count("data-confirm=") == 2
    assert sraps.secret not in body


def test_onboard_from_the_card_with_the_script(users, ready, sraps, portal_client):
    client = portal_client(users["super_admin"])

    response = client.post(action_url("snom", "onboard"), key_of(sraps), **SCRIPT)

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card wide ztp-card"')
    assert notice(body) == f"Snom (SRAPS): Onboarded (company {sraps.company})."
    assert 'data-field="status">Configured<' in body
    assert f'data-field="company"><code>{sraps.company}</code>' in body
    assert f'data-field="key"><code>{sraps.key_id}</code>' in body
    assert sraps.secret not in body
    account = ZtpAccount.objects.get(vendor="snom")
    assert (account.company_id, account.key_id) == (sraps.company, sraps.key_id)
    # The key was checked at the vendor: its company, then the company's endpoints link.
    assert ("GET", f"/api/v1/tokens/{sraps.key_id}", None) in sraps.calls


def test_onboard_without_the_script_needs_no_confirmation(users, ready, grape, portal_client):
    client = portal_client(users["super_admin"])

    done = client.post(action_url("gigaset", "onboard"), key_of(grape), follow=True)

    assert done.redirect_chain == [(PAGE + "#ztp", 302)]
    body = done.content.decode()
    assert f"Gigaset (GRAPE): Onboarded (company {grape.company})." in body
    assert grape.secret not in body
    account = ZtpAccount.objects.get()
    assert (account.vendor, account.status, account.key_id) == (
        "gigaset",
        Status.CONFIGURED,
        grape.key_id,
    )


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({}, ["API key ID: required", "Secret: required"]),
        ({"key_id": "KEY", "secret": ""}, ["Secret: required"]),
        ({"key_id": "  ", "secret": "SECRET"}, ["API key ID: required"]),
        ({"key_id": "key with spaces", "secret": "SECRET"}, ["API key ID: printable ASCII"]),
        ({"key_id": "KEY", "secret": "clé"}, ["Secret: printable ASCII"]),
        ({"key_id": "KEY", "secret": "a\x00b"}, ["Secret: printable ASCII"]),
        ({"key_id": "k" * 201, "secret": "SECRET"}, ["API key ID: at most 200 characters"]),
    ],
    ids=["both empty", "no secret", "blank ID", "space", "not ASCII", "NUL", "too long"],
)
def test_bad_key_fields_are_refused_before_anything_is_sent(
    users, ready, sraps, portal_client, fields, named
):
    fields = {
        name: value.replace("KEY", sraps.key_id).replace("SECRET", sraps.secret)
        for name, value in fields.items()
    }
    client = portal_client(users["super_admin"])

    response = client.post(action_url("snom", "onboard"), fields, **SCRIPT)

    assert response.status_code == 200
    body = response.content.decode()
    text = notice(body)
    assert text.startswith("Not sent to the vendor: ")
    for words in named:
        assert words in text, text
    assert 'role="alert" data-field="notice"' in body
    assert body.count('data-field="status">Not configured<') == 3
    assert sraps.calls == []
    assert not ZtpAccount.objects.exists()


def test_bad_key_fields_without_the_script_come_back_as_an_error_message(
    users, ready, sraps, portal_client
):
    client = portal_client(users["super_admin"])

    done = client.post(action_url("snom", "onboard"), {"key_id": sraps.key_id}, follow=True)

    assert done.status_code == 200
    assert done.redirect_chain == [(PAGE + "#ztp", 302)]
    body = done.content.decode()
    assert "Not sent to the vendor: Secret: required" in body
    assert sraps.calls == []
    assert not ZtpAccount.objects.exists()


@pytest.mark.parametrize("wrong", ["secret", "key_id"])
def test_a_key_the_vendor_refuses_is_reported_and_not_kept(
    users, ready, sraps, portal_client, wrong
):
    fields = {**key_of(sraps), wrong: "not-the-right-one"}

    response = portal_client(users["super_admin"]).post(
        action_url("snom", "onboard"), fields, **SCRIPT
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-field="status">Error<' in body
    assert "Onboard failed:" in body
    assert "does not accept this API key: check its ID and secret" in body
    if wrong == "secret":
        assert "not-the-right-one" not in body
    account = ZtpAccount.objects.get()
    assert (account.secrets, account.key_id, account.company_id) == ("", "", "")
    assert account.status == Status.ERROR
    # Still Not configured as far as the card's actions go: Onboard again.
    assert f'action="{action_url("snom", "onboard")}"' in body


def test_a_failure_shows_inline_on_the_card(users, ready, portal_client):
    client = portal_client(users["super_admin"])  # no fake: nothing answers

    response = client.post(
        action_url("snom", "onboard"), {"key_id": "key_1", "secret": "s3cret"}, **SCRIPT
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="status">Error<' in body
    assert "Try again later." in body
    assert 'role="alert" data-field="error"' in body
    assert "s3cret" not in body


def test_change_api_key_from_the_card(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    old_key = sraps.key_id
    new_key, new_secret = sraps.add_key(sraps.company)
    client = portal_client(users["super_admin"])

    response = client.post(
        action_url("snom", "key"), {"key_id": new_key, "secret": new_secret}, **SCRIPT
    )

    body = response.content.decode()
    assert notice(body) == escape(
        f"Snom (SRAPS): API key changed. Delete the previous key ({old_key}) in "
        "Snom (SRAPS)'s front end once nothing else uses it."
    )
    assert f'data-field="key"><code>{new_key}</code>' in body
    assert new_secret not in body and sraps.secret not in body
    account = ZtpAccount.objects.get()
    assert (account.key_id, account.company_id, account.status) == (
        new_key,
        sraps.company,
        Status.CONFIGURED,
    )


def test_change_api_key_refuses_a_key_of_another_company(users, ready, sraps, portal_client):
    before = onboarded(ready, sraps)
    other_key, other_secret = sraps.add_key(sraps.add_company("Someone else"))

    response = portal_client(users["super_admin"]).post(
        action_url("snom", "key"), {"key_id": other_key, "secret": other_secret}, **SCRIPT
    )

    body = response.content.decode()
    assert "make the new key in the same company" in body
    assert "The stored key is still in place." in body
    account = ZtpAccount.objects.get()
    assert (account.key_id, account.secrets) == (before.key_id, before.secrets)


def test_change_api_key_with_empty_fields_sends_nothing(users, ready, sraps, portal_client):
    before = onboarded(ready, sraps)
    calls = len(sraps.calls)

    response = portal_client(users["super_admin"]).post(
        action_url("snom", "key"), {"key_id": "", "secret": ""}, **SCRIPT
    )

    text = notice(response.content.decode())
    assert text.startswith("Not sent to the vendor: API key ID: required")
    assert "Secret: required" in text
    assert len(sraps.calls) == calls
    assert ZtpAccount.objects.get().secrets == before.secrets


@pytest.mark.parametrize("name", ["rotate", "disable"])
def test_without_the_script_rotate_and_disable_ask_for_confirmation_first(
    users, ready, sraps, portal_client, name
):
    before = onboarded(ready, sraps)
    secret = file_secret(ready)
    calls = len(sraps.calls)
    client = portal_client(users["super_admin"])

    asked = client.post(action_url("snom", name))

    assert asked.status_code == 200
    body = asked.content.decode()
    assert f"Confirm {Action(name).label.lower()}" in body
    assert 'role="alertdialog"' in body
    assert len(sraps.calls) == calls
    assert ZtpAccount.objects.get().secrets == before.secrets
    assert file_secret(ready) == secret

    done = client.post(action_url("snom", name), {"confirmed": "1"}, follow=True)
    assert done.redirect_chain == [(PAGE + "#ztp", 302)]
    account = ZtpAccount.objects.get()
    if name == "rotate":
        assert "Snom (SRAPS): a new phone file URL is registered" in done.content.decode()
        assert file_secret(ready) != secret
        assert account.key_id == sraps.key_id  # the API key is the vendor's to rotate
    else:
        assert escape(f"Delete the key ({sraps.key_id}) in Snom (SRAPS)'s front end") in (
            done.content.decode()
        )
        assert (account.status, account.key_id, account.secrets) == (
            Status.NOT_CONFIGURED,
            "",
            "",
        )


def test_rotate_and_disable_with_the_script_need_no_second_post(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    client = portal_client(users["super_admin"])

    rotated = client.post(action_url("snom", "rotate"), {"confirmed": "1"}, **SCRIPT)
    assert "new phone file URL is registered" in notice(rotated.content.decode())
    disabled = client.post(action_url("snom", "disable"), {"confirmed": "1"}, **SCRIPT)
    body = disabled.content.decode()
    assert notice(body).startswith("Snom (SRAPS): Disabled; the API key is forgotten.")
    assert f'action="{action_url("snom", "onboard")}"' in body


def test_check_now_needs_no_confirmation(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    ZtpAccount.objects.update(checked_at=None)

    response = portal_client(users["staff"]).post(action_url("snom", "check"), follow=True)

    assert "the stored API key works and the provisioning URL is ours." in (
        response.content.decode()
    )
    assert ZtpAccount.objects.get().checked_at is not None


def test_a_drift_offers_repair_and_repair_mends_it(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    ztp_phone_register(customer=ready, vendor="snom", user=None, mac=MAC)
    sraps.remove_endpoint(MAC)  # as removed in SRAPS's front end
    client = portal_client(users["super_admin"])

    checked = client.post(action_url("snom", "check"), **SCRIPT).content.decode()

    assert 'data-field="status">Error<' in checked
    assert "1 phone(s) registered here are gone at Snom SRAPS: 00:04:13:2A:3B:4C." in checked
    assert 'data-field="drift"' in checked
    assert f'action="{action_url("snom", "repair")}"' in checked
    repaired = client.post(action_url("snom", "repair"), **SCRIPT).content.decode()
    assert notice(repaired) == "Snom (SRAPS): the provisioning URL is registered again."
    assert 'data-field="status">Configured<' in repaired
    assert f'action="{action_url("snom", "repair")}"' not in repaired
    assert MAC.lower() in sraps.endpoints
    assert ZtpAccount.objects.get().drift == ""


def test_unknown_vendor_or_action_is_404(users, ready, portal_client):
    client = portal_client(users["super_admin"])
    assert client.post(action_url("cisco", "onboard"), {"confirmed": "1"}).status_code == 404
    assert client.post(action_url("snom", "explode"), {"confirmed": "1"}).status_code == 404
    # Phone actions are not card actions.
    assert client.post(action_url("snom", "register"), {"confirmed": "1"}).status_code == 404


def test_actions_are_post_only(users, portal_client, client):
    assert client.get(action_url("snom", "onboard")).status_code == 405
    assert portal_client(users["super_admin"]).get(action_url("snom", "onboard")).status_code == 405
    assert portal_client(users["super_admin"]).get(action_url("snom", "key")).status_code == 405


# --- the phone list -----------------------------------------------------------------------


def test_phone_list_add_look_up_remove_and_import(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    client = portal_client(users["super_admin"])

    added = client.post(
        reverse("ztp:phone_add"), {"vendor": "snom", "mac": "00:04:13:2a:3b:4c"}, follow=True
    )
    assert "Snom (SRAPS): 00:04:13:2A:3B:4C registered." in added.content.decode()
    assert "<code>00:04:13:2A:3B:4C</code>" in added.content.decode()

    looked = client.post(
        reverse("ztp:phone_lookup"), {"vendor": "snom", "mac": "0004132A3B4C"}, follow=True
    )
    # SRAPS lists a company's phones without their settings.
    assert "00:04:13:2A:3B:4C is registered in this customer&#x27;s company." in (
        looked.content.decode()
    )

    upload = SimpleUploadedFile("phones.csv", b"mac\n000413000001\nbad\n", "text/csv")
    imported = client.post(
        reverse("ztp:phone_bulk"), {"vendor": "snom", "op": "register", "file": upload}
    )
    body = imported.content.decode()
    assert imported.status_code == 200
    assert "Snom (SRAPS): 1 phone(s) registered, 1 failed." in body
    assert "&#x27;bad&#x27; is not a MAC address" in body
    assert [row["Result"] for row in result_rows(body)] == ["Registered", "Failed"]

    # A row's Remove asks first; nothing is removed until the question is answered.
    asked = client.post(
        reverse("ztp:phone_bulk"), {"vendor": "snom", "op": "remove", "macs": "0004132A3B4C"}
    )
    assert "Remove this phone at Snom (SRAPS)?" in asked.content.decode()
    assert ZtpPhone.objects.count() == 2 and MAC.lower() in sraps.endpoints

    removed = client.post(
        reverse("ztp:phone_bulk"),
        {"vendor": "snom", "op": "remove", "macs": "0004132A3B4C", "confirmed": "on"},
        follow=True,
    )
    assert "Snom (SRAPS): 00:04:13:2A:3B:4C removed." in removed.content.decode()
    assert list(ZtpPhone.objects.values_list("mac", flat=True)) == ["000413000001"]
    assert MAC.lower() not in sraps.endpoints
    assert sraps.secret not in body


def result_rows(body: str) -> list[dict[str, str]]:
    """The per-MAC results table as {column: text} per row."""
    table = body[body.index('<table class="data ztp-results') :]
    table = table[: table.index("</table>")]
    rows = []
    for row in table.split("<tr")[2:]:
        cells = re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row, re.S)
        rows.append({label: re.sub(r"<[^>]+>", "", text).strip() for label, text in cells})
    return rows


def test_several_phones_are_pasted_removed_after_the_question_and_reported_per_mac(
    users, ready, sraps, portal_client, django_assert_num_queries
):
    onboarded(ready, sraps)
    client = portal_client(users["super_admin"])
    pasted = "000413000001\n00:04:13:00:00:02\n000413000003\n"
    client.post(reverse("ztp:phone_bulk"), {"vendor": "snom", "op": "register", "macs": pasted})
    assert ZtpPhone.objects.count() == 3
    sraps.remove_endpoint("000413000003")  # gone at the vendor already
    given = "000413000001\n000413000003\n001565009999\nnonsense\n"

    # 1. session, 2. user, 3. customer, 4. the MACs registered here, 5. direct additions
    # (base.html); the vendor is not called.
    sraps.requests.clear()
    with django_assert_num_queries(5):
        asked = client.post(
            reverse("ztp:phone_bulk"), {"vendor": "snom", "op": "remove", "macs": given}
        )
    assert sraps.requests == []

    page = asked.content.decode()
    assert "Remove these 2 phones at Snom (SRAPS)?" in page
    assert "<code>00:04:13:00:00:01</code>" in page and "<code>00:04:13:00:00:03</code>" in page
    assert "2 other lines (not a MAC address, or not registered here)" in page
    assert ZtpPhone.objects.count() == 3

    done = client.post(
        reverse("ztp:phone_bulk"),
        {"vendor": "snom", "op": "remove", "macs": given, "confirmed": "on"},
    )

    body = done.content.decode()
    assert "Snom (SRAPS): 2 phone(s) removed, 2 failed." in body
    assert result_rows(body) == [
        {"Line": "1", "MAC address": "00:04:13:00:00:01", "Result": "Removed", "Why": "—"},
        {"Line": "2", "MAC address": "00:04:13:00:00:03", "Result": "Removed", "Why": "—"},
        {
            "Line": "3",
            "MAC address": "00:15:65:00:99:99",
            "Result": "Failed",
            "Why": "not registered here",
        },
        {
            "Line": "4",
            "MAC address": "—",
            "Result": "Failed",
            "Why": "&#x27;nonsense&#x27; is not a MAC address",
        },
    ]
    assert list(ZtpPhone.objects.values_list("mac", flat=True)) == ["000413000002"]
    assert set(sraps.endpoints) == {"000413000002"}


@pytest.mark.parametrize(
    ("post", "said"),
    [
        ({"op": "register"}, "paste MAC addresses or choose a CSV file"),
        ({"op": "register", "macs": " \n "}, "paste MAC addresses or choose a CSV file"),
        ({"op": "delete", "macs": MAC}, "op: Select a valid choice"),
        ({"op": "register", "macs": "mac\n"}, "no MAC address given"),
        ({"op": "register", "macs": "x\n" * 201}, "at most 200 MAC addresses at once"),
    ],
)
def test_bad_bulk_input_is_refused_with_nothing_done(
    users, ready, sraps, portal_client, post, said
):
    onboarded(ready, sraps)
    sraps.requests.clear()

    answer = portal_client(users["super_admin"]).post(
        reverse("ztp:phone_bulk"), {"vendor": "snom", **post}, follow=True
    )

    assert said in answer.content.decode()
    assert not ZtpPhone.objects.exists()
    assert sraps.requests == []


def test_pasted_and_uploaded_together_is_refused(users, ready, sraps, portal_client):
    onboarded(ready, sraps)
    upload = SimpleUploadedFile("phones.csv", b"000413000001\n", "text/csv")

    answer = portal_client(users["super_admin"]).post(
        reverse("ztp:phone_bulk"),
        {"vendor": "snom", "op": "register", "macs": "000413000002", "file": upload},
        follow=True,
    )

    assert "paste MAC addresses or choose a file, not both" in answer.content.decode()
    assert not ZtpPhone.objects.exists()


def test_phone_list_is_per_vendor_and_paged(users, ready, portal_client, django_assert_num_queries):
    for n in range(3):
        ZtpPhone.objects.create(
            customer=ready,
            vendor=Vendor.YEALINK,
            mac=f"00156500000{n}",
            registered_at="2026-01-01T00:00Z",
        )
    client = portal_client(users["super_admin"])

    snom = client.get(PHONES).content.decode()
    # 1. session, 2. user, 3. customer, 4. count, 5. the page's rows, 6. counts per vendor
    # (the tabs), 7. the vendor's account, 8. direct additions (base.html).
    with django_assert_num_queries(8):
        yealink = client.get(PHONES + "?vendor=yealink&q=00:15:65:00:00:01").content.decode()

    assert not ZtpAccount.objects.exists()  # looking writes nothing
    assert "No phones registered" in snom
    assert "is not configured for Acme Logistics" in snom
    assert "00:15:65:00:00:01" in yealink and "00:15:65:00:00:02" not in yealink
    assert client.get(PHONES + "?vendor=gigaset").status_code == 200
    assert client.get(PHONES + "?vendor=cisco").status_code == 404


def test_a_bad_mac_is_reported(users, ready, sraps, portal_client):
    onboarded(ready, sraps)

    response = portal_client(users["super_admin"]).post(
        reverse("ztp:phone_add"), {"vendor": "snom", "mac": "00:04"}, follow=True
    )

    assert "mac: &#x27;00:04&#x27; is not a MAC address" in response.content.decode()


def test_the_menu_has_the_customer_page_for_every_role(users, portal_client):
    for who in ("super_admin", "admin", "viewer"):
        body = portal_client(users[who]).get(PAGE).content.decode()
        assert f'<a href="{PAGE}" aria-current="page">Customer</a>' in body


def test_onboard_yealink_from_the_card_with_the_enterprise_key(users, ready, ymcs, portal_client):
    response = portal_client(users["super_admin"]).post(
        action_url("yealink", "onboard"), key_of(ymcs), **SCRIPT
    )

    body = response.content.decode()
    assert notice(body) == "Yealink (YMCS RPS): Onboarded."
    assert f'data-field="key"><code>{ymcs.client_id}</code>' in body
    assert ymcs.client_secret not in body
    # YMCS keeps the URL on the customer's own RPS server.
    (server,) = ymcs.servers.values()
    assert server["serverName"] == f"pm{ready.pk}-acme"
    assert ZtpAccount.objects.get().key_id == ymcs.client_id
