"""Every route by every role, from one table.

The test walks the whole URL configuration. Each named route must have a rule in
ROUTES below, so a new route without a rule fails here until someone decides who may
open it. Expectations come from ACCESS, the reference guide's role table written out
independently of accounts.permissions, and cover: anonymous visitors, the three
customer roles, staff acting for the customer, and an outsider (a Super-Admin of
another customer) who must reach nothing of this customer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.permissions import ROLE_PERMISSIONS
from devices.models import DeviceKind
from phones.services.categories import category_save
from phones.services.codes import provisioning_code_issue, rollout_create
from phones.services.jobs import config_job_create, software_job_create
from phones.services.lines import phone_line_set
from tests.devices.factories import DeviceFactory, SiteFactory
from tests.provisioning.factories import TokenFactory
from ztp.models import Action as ZtpAction
from ztp.models import ZtpAccount

V, C = "view", "change"

# Who may do what (reference guide, "Portal Users" → User Roles). Staff: everything.
ACCESS: dict[str, dict[str, set[str]]] = {
    "super_admin": {
        "dashboard": {V},
        "tokens": {V, C},
        "bootstraps": {V, C},
        "reports": {V},
        "licenses": {V},
        "sites": {V, C},
        "devices": {V, C},
        "users": {V, C},
        "phones": {V, C},
        "provisioning": {V, C},
        "ztp": {V, C},
        "customer": {V, C},
    },
    "admin": {
        "dashboard": {V},
        "tokens": {V, C},
        "bootstraps": {V, C},
        "reports": {V},
        "sites": {V},
        "devices": {V},
        "phones": {V, C},
        "provisioning": {V, C},
    },
    "viewer": {
        "dashboard": {V},
        "tokens": {V},
        "bootstraps": {V},
        "reports": {V},
        "sites": {V},
        "devices": {V},
        "phones": {V, C},
        "provisioning": {V},
    },
}
ROLE_OF = {"super_admin": "super_admin", "admin": "admin", "viewer": "user"}


@dataclass(frozen=True)
class Rule:
    # portal | api | public | login | post_only | device_get | device_file | signed_in_api |
    # staff_only | django_admin
    kind: str
    area: str = ""
    action: str = V
    kwargs: Callable | None = None  # builds URL kwargs naming an object of `customer`
    fixed: dict | None = None  # URL kwargs naming no object (the same for every customer)
    query: Callable | None = None  # builds the ?query naming one (query-style API paths)


def _user_pk(ctx):
    return {"pk": ctx["users"]["viewer"].pk}


def _token(ctx):
    """A token of `customer` (with its bootstrap), made once per test."""
    if "token" not in ctx:
        ctx["token"] = TokenFactory(customer=ctx["customer"])
    return ctx["token"]


def _token_pk(ctx):
    return {"pk": _token(ctx).pk}


def _bootstrap_pk(ctx):
    return {"pk": _token(ctx).bootstrap_id}


def _token_name(ctx):
    return {"name": _token(ctx).value}


def _bootstrap_name(ctx):
    return {"name": _token(ctx).bootstrap.name}


def _category(ctx):
    """A provisioning category of `customer`, made once per test."""
    if "category" not in ctx:
        ctx["category"], _ = category_save(customer=ctx["customer"], user=None, name="Desk Phones")
    return ctx["category"]


def _category_pk(ctx):
    return {"pk": _category(ctx).pk}


def _desk_line(ctx):
    """A desk phone of `customer` with line 1, made once per test."""
    if "desk_line" not in ctx:
        phone = DeviceFactory(
            customer=ctx["customer"], device_id="000413ABCDEF", kind=DeviceKind.DESK_PHONE
        )
        ctx["desk_line"] = phone_line_set(device=phone, user=None, position=1, extension="201")
    return ctx["desk_line"]


def _software_job_pk(ctx):
    job = software_job_create(
        customer=ctx["customer"], user=None, category=_category(ctx), firmware={"v": "13r1"}
    )
    return {"pk": job.pk}


def _config_job_pk(ctx):
    job = config_job_create(
        customer=ctx["customer"],
        user=None,
        category=_category(ctx),
        config_type="ntp",
        parameters={"server": "ntp.example"},
    )
    return {"pk": job.pk}


def _viewer_code_pk(ctx):
    """The User's own code: every role of the customer may follow it, the outsider not."""
    code = provisioning_code_issue(
        customer=ctx["customer"],
        user=ctx["users"]["viewer"],
        category=_category(ctx),
        for_user=ctx["users"]["viewer"],
    )
    return {"pk": code.pk}


def _rollout_pk(ctx):
    rollout = rollout_create(
        customer=ctx["customer"],
        user=None,
        category=_category(ctx),
        users=[ctx["users"]["viewer"], ctx["users"]["admin"]],
    )
    return {"pk": rollout.pk}


ROUTES: dict[str, Rule] = {
    # Signed-out pages and the API's login endpoints.
    "accounts:login": Rule("login"),
    "accounts:logout": Rule("post_only"),
    "accounts:password_reset": Rule("public"),
    "accounts:password_reset_done": Rule("public"),
    "accounts:password_reset_confirm": Rule(
        "public", kwargs=lambda ctx: {"uidb64": "MQ", "token": "bad-token"}
    ),
    "accounts:password_reset_complete": Rule("public"),
    "schema": Rule("public"),
    "favicon": Rule("public"),
    # Probes (config.health): anyone. /metrics answers loopback, as the test client is,
    # and a bearer token; everyone else gets 404 (tests/test_serving.py).
    "healthz": Rule("public"),
    "readyz": Rule("public"),
    "metrics": Rule("public"),
    "swagger_ui": Rule("public"),
    "api:auth_login": Rule("post_only"),
    "api:auth_refresh": Rule("post_only"),
    "api:auth_logout": Rule("post_only"),
    "api:me": Rule("signed_in_api"),
    # Device endpoints: the token is the credential; POST only.
    "device:bootstrap": Rule("post_only"),
    "device:license": Rule("post_only"),
    "device:checkin": Rule("post_only"),
    "device:code": Rule("post_only"),
    # Phones GET their registration URL; the token in the query is the credential, so a
    # bare GET is a bad request for everyone.
    "device:auto": Rule("device_get"),
    # Phones GET their files; the secret in the path is the credential, so a wrong one is
    # a 404 for everyone, signed in or not.
    "phone_file": Rule(
        "device_file",
        kwargs=lambda ctx: {"secret": "0" * 32, "vendor": "snom", "name": "000413ABCDEF.xml"},
    ),
    # Portal pages.
    "reports:dashboard": Rule("portal", "dashboard"),
    # The dashboard's graphs as JSON, polled by the page: licenses only for roles that may
    # view licenses.
    "reports:dashboard_licenses": Rule("portal", "licenses"),
    "reports:dashboard_tokens": Rule("portal", "dashboard"),
    "reports:history": Rule("portal", "reports"),
    "reports:event_list": Rule("portal", "reports"),
    "provisioning:token_list": Rule("portal", "tokens"),
    "provisioning:token_add": Rule("portal", "tokens", C),
    "provisioning:token_edit": Rule("portal", "tokens", C, _token_pk),
    "provisioning:token_delete": Rule("portal", "tokens", C, _token_pk),
    "provisioning:token_qr": Rule("portal", "tokens", V, _token_pk),
    "provisioning:token_qr_download": Rule("portal", "tokens", V, _token_pk),
    "provisioning:bootstrap_list": Rule("portal", "bootstraps"),
    "provisioning:bootstrap_add": Rule("portal", "bootstraps", C),
    "provisioning:bootstrap_edit": Rule("portal", "bootstraps", C, _bootstrap_pk),
    "provisioning:bootstrap_delete": Rule("portal", "bootstraps", C, _bootstrap_pk),
    # Desk phones: categories and update jobs (System), Add a phone (every role), Register
    # phones (Super-Admin, Admin) and automatic provisioning.
    "phones:category_list": Rule("portal", "provisioning"),
    "phones:category_add": Rule("portal", "provisioning", C),
    "phones:category_edit": Rule("portal", "provisioning", C, _category_pk),
    "phones:category_delete": Rule("portal", "provisioning", C, _category_pk),
    "phones:job_list": Rule("portal", "provisioning"),
    "phones:job_software_add": Rule("portal", "provisioning", C),
    "phones:job_config_add": Rule("portal", "provisioning", C),
    "phones:job_software_delete": Rule("portal", "provisioning", C, _software_job_pk),
    "phones:job_config_delete": Rule("portal", "provisioning", C, _config_job_pk),
    "phones:phone_add": Rule("portal", "phones", C),
    "phones:phone_code": Rule("portal", "phones", V, _viewer_code_pk),
    "phones:code_status": Rule("portal", "phones", V, _viewer_code_pk),
    "phones:rollout_list": Rule("portal", "provisioning", C),
    "phones:rollout_check": Rule("portal", "provisioning", C),
    "phones:rollout_options": Rule("portal", "provisioning", C),
    "phones:rollout_users": Rule("portal", "provisioning", C),
    "phones:rollout_detail": Rule("portal", "provisioning", C, _rollout_pk),
    "phones:rollout_status": Rule("portal", "provisioning", C, _rollout_pk),
    "phones:rollout_csv": Rule("portal", "provisioning", C, _rollout_pk),
    "phones:auto_provisioning": Rule("portal", "provisioning"),
    "phones:auto_enable": Rule("portal", "provisioning", C),
    "phones:auto_line": Rule("portal", "provisioning", C),
    "phones:auto_disable": Rule("portal", "provisioning", C),
    "phones:files": Rule("portal", "provisioning"),
    "phones:files_rotate": Rule("portal", "provisioning", C),
    "phones:files_template_edit": Rule(
        "portal", "provisioning", C, fixed={"vendor": "snom", "kind": "settings"}
    ),
    "phones:files_template_reset": Rule(
        "portal", "provisioning", C, fixed={"vendor": "snom", "kind": "settings"}
    ),
    "licensing:summary": Rule("portal", "licenses"),
    "licensing:assigned": Rule("portal", "licenses"),
    # Sync now: a POST button, staff only (see tests/licensing/test_pages.py).
    "licensing:summary_sync": Rule("post_only"),
    "devices:site_list": Rule("portal", "sites"),
    "devices:device_list": Rule("portal", "devices"),
    "devices:device_add": Rule("portal", "devices", C),
    "gateway:device_detail": Rule(
        "portal", "devices", V, lambda ctx: {"pk": DeviceFactory(customer=ctx["customer"]).pk}
    ),
    "gateway:device_obsolete": Rule(
        "portal", "devices", C, lambda ctx: {"pk": DeviceFactory(customer=ctx["customer"]).pk}
    ),
    # A desk phone's lines and binding: buttons of the device page (POST only).
    "gateway:device_line_set": Rule(
        "post_only", kwargs=lambda ctx: {"pk": DeviceFactory(customer=ctx["customer"]).pk}
    ),
    "gateway:device_line_delete": Rule(
        "portal",
        "provisioning",
        C,
        lambda ctx: {"pk": _desk_line(ctx).device_id, "position": 1},
    ),
    "gateway:device_binding_release": Rule(
        "post_only", kwargs=lambda ctx: {"pk": DeviceFactory(customer=ctx["customer"]).pk}
    ),
    "devices:site_detail": Rule(
        "portal", "sites", V, lambda ctx: {"pk": SiteFactory(customer=ctx["customer"]).pk}
    ),
    "devices:site_sync": Rule("portal", "sites", C),
    "accounts:user_list": Rule("portal", "users"),
    "accounts:user_add": Rule("portal", "users", C),
    "accounts:user_edit": Rule("portal", "users", C, _user_pk),
    "accounts:user_delete": Rule("portal", "users", C, _user_pk),
    "accounts:customer_switch": Rule("staff_only"),
    # System > Customer (ztp.views): every role sees its customer; the ZTP card and its
    # pages are for Super-Admins and staff (the "ztp" area); its actions are POST only
    # (every action of the card: test_every_ztp_card_action_is_post_only_and_ztp_only).
    "ztp:customer_detail": Rule("portal", "dashboard"),
    "accounts:customer_settings": Rule("portal", "customer", C),
    "ztp:action": Rule("post_only", kwargs=lambda ctx: {"vendor": "snom", "name": "onboard"}),
    "ztp:phone_list": Rule("portal", "ztp"),
    "ztp:phone_add": Rule("post_only"),
    "ztp:phone_lookup": Rule("post_only"),
    "ztp:phone_bulk": Rule("post_only"),
    # Admin API.
    "api:user-list": Rule("api", "users"),
    "api:user-detail": Rule("api", "users", V, _user_pk),
    "api:bootstrap": Rule("api", "bootstraps", query=_bootstrap_name),
    "api:bootstrap-list": Rule("api", "bootstraps"),
    "api:token": Rule("api", "tokens", query=_token_name),
    "api:token-list": Rule("api", "tokens"),
    "api:catalog_import": Rule("post_only"),
    "api:device-list": Rule("api", "devices"),
    "api:device-detail": Rule(
        "api",
        "devices",
        V,
        lambda ctx: {
            "deviceId": DeviceFactory(customer=ctx["customer"], device_id="TC5,2_x.1").device_id
        },
    ),
    "api:device-merge": Rule("post_only"),
    # Desk phones: lists and creation; the detail paths only DELETE (GET is 405 for all).
    "api:category-list": Rule("api", "provisioning"),
    "api:category-detail": Rule("post_only", kwargs=_category_pk),
    "api:code-list": Rule("api", "provisioning"),
    "api:code-detail": Rule("post_only", kwargs=_viewer_code_pk),
    "api:software-job-list": Rule("api", "provisioning"),
    "api:software-job-detail": Rule("post_only", kwargs=_software_job_pk),
    "api:config-job-list": Rule("api", "provisioning"),
    # ZTP for scripts: the card's area (Super-Admins and staff); actions are POST only.
    "api:ztp-list": Rule("api", "ztp"),
    "api:ztp-detail": Rule("api", "ztp", fixed={"vendor": "snom"}),
    "api:ztp-onboard": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-key": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-rotate": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-disable": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-check": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-repair": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-phone-list": Rule("api", "ztp", fixed={"vendor": "snom"}),
    "api:ztp-phone-detail": Rule("post_only", fixed={"vendor": "snom", "mac": "0004132A3B4C"}),
    "api:ztp-phone-bulk": Rule("post_only", fixed={"vendor": "snom"}),
    "api:ztp-phone-remove-many": Rule("post_only", fixed={"vendor": "snom"}),
    # A desk phone's lines: read with provisioning "view"; PUT and DELETE need "change"
    # (tests/phones/test_phone_files_portal.py).
    "api:line-list": Rule(
        "api", "provisioning", V, lambda ctx: {"deviceId": _desk_line(ctx).device.device_id}
    ),
    "api:line-detail": Rule(
        "api",
        "provisioning",
        V,
        lambda ctx: {"deviceId": _desk_line(ctx).device.device_id, "position": 1},
    ),
    "api:config-job-detail": Rule("post_only", kwargs=_config_job_pk),
    "api:license-summary": Rule("api", "licenses"),
    "api:license-assigned": Rule("api", "licenses"),
    # History and Events: every role reads them (events about areas a role may not view
    # are left out; see tests/reports/test_audit.py).
    "api:history-list": Rule("api", "reports"),
    "api:event-list": Rule("api", "reports"),
    "api:license-sync": Rule("post_only"),
    "api:dashboard-licenses": Rule("api", "licenses"),
    "api:dashboard-tokens": Rule("api", "dashboard"),
    # Django admin, the support team's tool (one rule for its whole namespace).
    "admin:*": Rule("django_admin"),
}

WHO = ["anonymous", "super_admin", "admin", "viewer", "staff", "outsider"]


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            yield from _walk(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern):
            yield f"{prefix}{entry.name}" if entry.name else None


def all_route_names() -> list[str]:
    names = set()
    for name in _walk(get_resolver().url_patterns):
        if name is None:
            continue
        names.add("admin:*" if name.startswith("admin:") else name)
    return sorted(names)


def test_every_route_has_a_rule():
    missing = [name for name in all_route_names() if name not in ROUTES]
    assert not missing, f"routes without an access rule in ROUTES: {missing}"
    stale = [name for name in ROUTES if name not in all_route_names()]
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_role_permissions_match_the_guide():
    for who, areas in ACCESS.items():
        granted = {area: set(actions) for area, actions in ROLE_PERMISSIONS[ROLE_OF[who]].items()}
        assert granted == areas, who


def expected_status(rule: Rule, who: str) -> int:
    signed_in = who != "anonymous"
    if rule.kind == "public":
        return 200
    if rule.kind == "login":
        return 302 if signed_in else 200  # signed-in users go straight to the dashboard
    if rule.kind == "post_only":
        return 405
    if rule.kind == "device_get":
        return 400
    if rule.kind == "device_file":
        return 404
    if rule.kind == "signed_in_api":
        return 200 if signed_in else 401
    if rule.kind == "django_admin":
        return 200 if who == "staff" else 302
    if rule.kind == "staff_only":
        if not signed_in:
            return 302
        return 200 if who == "staff" else 404
    if rule.kind in {"portal", "api"}:
        if not signed_in:
            return 302 if rule.kind == "portal" else 401
        if who == "staff":
            return 200
        if who == "outsider":
            # A Super-Admin elsewhere: lists answer with their own data; this
            # customer's objects do not exist for them.
            if rule.kwargs or rule.query:
                return 404
            return 200 if rule.area in ACCESS["super_admin"] else 404
        actions = ACCESS[who].get(rule.area, set())
        if V not in actions:
            # A portal page of an area the role may not open says so (403); the API
            # answers as if the area did not exist (404).
            return 403 if rule.kind == "portal" else 404
        if rule.action not in actions:
            return 403
        return 200
    raise AssertionError(f"unknown rule kind {rule.kind}")


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO)
def test_route_matrix(who, users, customer, client, portal_client, api_client):
    ctx = {"users": users, "customer": customer}
    # Markers of this customer's data that must never show up for the outsider.
    secrets = [customer.name, *(u.email for u in customer.users.all())]
    failures = []
    for name in all_route_names():
        rule = ROUTES[name]
        kwargs = rule.kwargs(ctx) if rule.kwargs else rule.fixed
        url = reverse("admin:index" if name == "admin:*" else name, kwargs=kwargs)
        if rule.query:
            url += "?" + urlencode(rule.query(ctx))
        user = users.get(who)
        if name.startswith("api:") and rule.kind != "post_only":
            if who == "staff":
                # staff name whom they act for
                url += f"{'&' if '?' in url else '?'}customer={customer.slug}"
            response = api_client(user).get(url)
        else:
            response = portal_client(user).get(url) if user else client.get(url)
        want = expected_status(rule, who)
        if response.status_code != want:
            failures.append(f"{name} ({url}): {response.status_code}, expected {want}")
        elif rule.kind == "portal" and want == 302:
            assert response["Location"].startswith(reverse("accounts:login")), name
        if who == "outsider" and response.status_code == 200:
            content = (
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            body = content.decode("utf-8", "replace")  # the favicon is binary
            leaked = [s for s in secrets if s in body]
            if leaked:
                failures.append(f"{name}: outsider sees {leaked}")
        client.logout()
    assert not failures, "\n".join(failures)


# The ZTP card's actions (ztp.models.Action); the others are the phone list's.
ZTP_CARD_ACTIONS = [
    ZtpAction.ONBOARD,
    ZtpAction.KEY,
    ZtpAction.ROTATE,
    ZtpAction.DISABLE,
    ZtpAction.CHECK,
    ZtpAction.REPAIR,
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ZTP_CARD_ACTIONS)
@pytest.mark.parametrize("who", WHO)
def test_every_ztp_card_action_is_post_only_and_ztp_only(
    who, name, users, customer, client, portal_client
):
    """`ztp:action` for each of the card's actions, by role. The POST carries no key and
    names a customer not onboarded, so each is refused before any vendor call (Rotate and
    Disable too: the card does not offer them yet, so nothing is asked)."""
    url = reverse("ztp:action", kwargs={"vendor": "snom", "name": name})
    user = users.get(who)
    http = portal_client(user) if user else client

    assert http.get(url).status_code == 405
    response = http.post(url)

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
    elif who in {"admin", "viewer"}:
        assert response.status_code == 403
    else:
        assert response.status_code == 302  # run (refused here), then back to the card
        assert response["Location"] == reverse("ztp:customer_detail") + "#ztp"
    if who not in {"super_admin", "staff"}:
        # Nobody else touches the customer's ZTP wiring.
        assert not ZtpAccount.objects.filter(customer=customer).exists()


@pytest.mark.django_db
def test_the_phone_list_actions_are_not_card_actions(users, customer, portal_client):
    http = portal_client(users["super_admin"])
    for name in set(ZtpAction.values) - set(ZTP_CARD_ACTIONS):
        url = reverse("ztp:action", kwargs={"vendor": "snom", "name": name})
        assert http.post(url, {"confirmed": "1"}).status_code == 404, name
