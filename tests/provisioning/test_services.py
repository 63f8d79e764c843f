"""Rules of provisioning.services that every caller (portal, API, import) relies on."""

import pytest
from django.core.exceptions import ValidationError

from accounts.services import customer_create
from core.errors import InUse, StaleVersion
from provisioning.models import Bootstrap, Token
from provisioning.services.bootstraps import bootstrap_delete, bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, Event


@pytest.mark.django_db
def test_new_customer_gets_direct_access_pair_only_without_extension_manager():
    customer = customer_create(name="Initech")
    bootstrap = Bootstrap.objects.get(customer=customer)
    assert (bootstrap.name, bootstrap.parameters) == ("Direct-Access-Bootstrap", {})
    token = Token.objects.get(customer=customer)
    assert token.bootstrap == bootstrap
    assert token.app_id == AppId.VOICE
    assert token.value.startswith("initech-direct-access-")


@pytest.mark.django_db
def test_new_customer_with_extension_manager_gets_both_pairs_with_unique_tokens():
    url = "https://exm.example/profiles/stores/?api_key=k1"
    first = customer_create(name="Hooli", extension_manager_url=url)
    second = customer_create(name="Hooli Two", extension_manager_url=url)
    exm = Bootstrap.objects.get(customer=first, name="Extension-Manager-Bootstrap")
    assert exm.parameters == {"var_location": url}
    assert Token.objects.filter(customer=first).count() == 2
    values = list(Token.objects.values_list("value", flat=True))
    assert len(values) == len({v.lower() for v in values}) == 4
    assert Token.objects.filter(customer=second, bootstrap__name=exm.name).exists()


@pytest.mark.django_db
def test_bootstrap_save_adds_then_replaces_with_version_and_event(customer, admin):
    bootstrap, created = bootstrap_save(customer=customer, user=admin, name="B", parameters={})
    assert created and bootstrap.version == 1
    again, created = bootstrap_save(
        customer=customer, user=admin, name="B", parameters={"site": "s1"}
    )
    assert not created
    assert (again.pk, again.version, again.parameters) == (bootstrap.pk, 2, {"site": "s1"})
    event = Event.objects.filter(type="BOOTSTRAP_UPDATED").get()
    assert event.username == admin.username
    assert event.data["before"]["parameters"] == {}
    assert event.data["after"]["parameters"] == {"site": "s1"}


@pytest.mark.django_db
def test_stale_version_is_refused_and_changes_nothing(customer, admin):
    bootstrap, _ = bootstrap_save(customer=customer, user=admin, name="B", parameters={"a": 1})
    bootstrap_save(customer=customer, user=admin, name="B", parameters={"a": 2}, expected_version=1)
    with pytest.raises(StaleVersion, match="changed by someone else"):
        bootstrap_save(
            customer=customer, user=admin, name="B", parameters={"a": 3}, expected_version=1
        )
    bootstrap.refresh_from_db()
    assert (bootstrap.parameters, bootstrap.version) == ({"a": 2}, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("parameters", [[1, 2], "text", 3, None])
def test_bootstrap_parameters_must_be_an_object(customer, admin, parameters):
    with pytest.raises(ValidationError) as error:
        bootstrap_save(customer=customer, user=admin, name="B", parameters=parameters)
    assert "parameters" in error.value.message_dict


@pytest.mark.django_db
def test_bootstrap_in_use_cannot_be_deleted_and_names_its_tokens(customer, admin):
    bootstrap, _ = bootstrap_save(customer=customer, user=admin, name="B", parameters={})
    token_save(customer=customer, user=admin, value="TOK-01", app_id=AppId.VOICE, bootstrap="B")
    with pytest.raises(InUse, match="TOK-01"):
        bootstrap_delete(bootstrap=bootstrap, user=admin)
    assert Bootstrap.objects.filter(pk=bootstrap.pk).exists()
    Token.objects.all().delete()
    bootstrap_delete(bootstrap=bootstrap, user=admin)
    assert not Bootstrap.objects.exists()
    assert Event.objects.filter(type="BOOTSTRAP_DELETED").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("x" * 65, "token"),
        ("has space", "token"),
        ("hash#tag", "token"),
        ("", "token"),
    ],
)
def test_token_value_rules(customer, admin, value, field):
    bootstrap_save(customer=customer, user=admin, name="B", parameters={})
    with pytest.raises(ValidationError) as error:
        token_save(customer=customer, user=admin, value=value, app_id=AppId.VOICE, bootstrap="B")
    assert field in error.value.message_dict
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_token_value_is_unique_across_customers_ignoring_case(customer, other_customer, admin):
    bootstrap_save(customer=customer, user=admin, name="B", parameters={})
    bootstrap_save(customer=other_customer, user=None, name="B", parameters={})
    token_save(customer=customer, user=admin, value="Shared-1", app_id=AppId.VOICE, bootstrap="B")
    with pytest.raises(ValidationError) as error:
        token_save(
            customer=other_customer, user=None, value="SHARED-1", app_id=AppId.VOICE, bootstrap="B"
        )
    assert "already in use" in error.value.message_dict["token"][0]
    assert Token.objects.count() == 1


@pytest.mark.django_db
def test_token_needs_own_bootstrap_and_known_app(customer, other_customer, admin):
    foreign, _ = bootstrap_save(customer=other_customer, user=None, name="F", parameters={})
    with pytest.raises(ValidationError) as error:
        token_save(customer=customer, user=admin, value="TOKEN1", app_id="WFC_X", bootstrap=foreign)
    assert set(error.value.message_dict) == {"appId", "bootstrap"}
    with pytest.raises(ValidationError) as error:
        token_save(customer=customer, user=admin, value="TOKEN1", app_id=AppId.VOICE, bootstrap="F")
    assert "no bootstrap named" in error.value.message_dict["bootstrap"][0]


@pytest.mark.django_db
def test_token_replace_by_value_keeps_identity_and_logs_before_after(customer, admin):
    bootstrap_save(customer=customer, user=admin, name="B", parameters={})
    bootstrap_save(customer=customer, user=admin, name="C", parameters={})
    token, _ = token_save(
        customer=customer, user=admin, value="TOKEN1", app_id=AppId.VOICE, bootstrap="B"
    )
    again, created = token_save(
        customer=customer, user=admin, value="token1", app_id=AppId.PTT_PRO, bootstrap="C"
    )
    assert not created and again.pk == token.pk and again.version == 2
    event = Event.objects.get(type="TOKEN_UPDATED")
    assert (event.data["before"]["bootstrap"], event.data["after"]["bootstrap"]) == ("B", "C")


@pytest.mark.django_db
def test_default_token_of_a_slug_with_underscores_is_a_valid_token():
    customer = customer_create(name="Under Score", slug="under_score")
    value = Token.objects.get(customer=customer).value
    assert value.startswith("under-score-direct-access-")


@pytest.mark.django_db
def test_add_only_refuses_an_existing_name_and_changes_nothing(customer, admin):
    bootstrap_save(customer=customer, user=admin, name="B", parameters={"a": 1})
    with pytest.raises(ValidationError) as error:
        bootstrap_save(customer=customer, user=admin, name="B", parameters={}, add_only=True)
    assert "already exists" in error.value.message_dict["name"][0]
    assert Bootstrap.objects.get().parameters == {"a": 1}
