"""Who may do what, written once. Portal views and API views both ask `can()`.

Areas follow the navigation menu. "view" lets a user see an area; "change" lets them
add, edit or delete in it. A user who may not view an area gets 404 for its URLs (the
area does not exist for them); one who may view but not change gets 403 on changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from accounts.models import Role

if TYPE_CHECKING:
    from accounts.models import User


class Area(models.TextChoices):
    DASHBOARD = "dashboard"
    TOKENS = "tokens"
    BOOTSTRAPS = "bootstraps"
    REPORTS = "reports"
    LICENSES = "licenses"
    SITES = "sites"
    DEVICES = "devices"
    USERS = "users"
    # Adding a phone for oneself with a provisioning code.
    PHONES = "phones"
    # Categories, update jobs, rollouts and automatic provisioning.
    PROVISIONING = "provisioning"
    # Zero-touch provisioning: the vendor wiring on the customer's page.
    ZTP = "ztp"
    # The customer's own settings (its time zone). Every role sees the customer page
    # (dashboard); this area is only its changes.
    CUSTOMER = "customer"


class Action(models.TextChoices):
    VIEW = "view"
    CHANGE = "change"


VIEW = frozenset({Action.VIEW})
VIEW_CHANGE = frozenset({Action.VIEW, Action.CHANGE})

ROLE_PERMISSIONS: dict[str, dict[str, frozenset[str]]] = {
    Role.SUPER_ADMIN: {
        Area.DASHBOARD: VIEW,
        Area.TOKENS: VIEW_CHANGE,
        Area.BOOTSTRAPS: VIEW_CHANGE,
        Area.REPORTS: VIEW,
        Area.LICENSES: VIEW,
        Area.SITES: VIEW_CHANGE,
        Area.DEVICES: VIEW_CHANGE,
        Area.USERS: VIEW_CHANGE,
        Area.PHONES: VIEW_CHANGE,
        Area.PROVISIONING: VIEW_CHANGE,
        Area.ZTP: VIEW_CHANGE,
        Area.CUSTOMER: VIEW_CHANGE,
    },
    Role.ADMIN: {
        Area.DASHBOARD: VIEW,
        Area.TOKENS: VIEW_CHANGE,
        Area.BOOTSTRAPS: VIEW_CHANGE,
        Area.REPORTS: VIEW,
        Area.SITES: VIEW,
        Area.DEVICES: VIEW,
        Area.PHONES: VIEW_CHANGE,
        Area.PROVISIONING: VIEW_CHANGE,
    },
    Role.USER: {
        Area.DASHBOARD: VIEW,
        Area.TOKENS: VIEW,
        Area.BOOTSTRAPS: VIEW,
        Area.REPORTS: VIEW,
        Area.SITES: VIEW,
        Area.DEVICES: VIEW,
        Area.PHONES: VIEW_CHANGE,
        Area.PROVISIONING: VIEW,
    },
}

# Staff act for whichever customer they picked, with every permission.
STAFF_PERMISSIONS: dict[str, frozenset[str]] = dict.fromkeys(Area.values, VIEW_CHANGE)


def permissions_for(user: User) -> dict[str, frozenset[str]]:
    if not user.is_authenticated or not user.is_active:
        return {}
    if user.is_staff:
        return STAFF_PERMISSIONS
    return ROLE_PERMISSIONS.get(user.role, {})


def can(user: User, area: str, action: str = Action.VIEW) -> bool:
    return action in permissions_for(user).get(area, frozenset())
