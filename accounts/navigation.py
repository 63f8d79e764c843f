"""The portal's navigation menu, filtered by what the user may view."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from accounts.permissions import Action, Area, can


@dataclass(frozen=True)
class Entry:
    label: str
    url_name: str
    area: str
    # Entries whose pages all change something (a wizard) need that right to be shown.
    action: str = Action.VIEW


MENU: list[tuple[str, list[Entry]]] = [
    ("Dashboard", [Entry("Dashboard", "reports:dashboard", Area.DASHBOARD)]),
    (
        "Tokens",
        [
            Entry("Tokens", "provisioning:token_list", Area.TOKENS),
            Entry("Bootstraps", "provisioning:bootstrap_list", Area.BOOTSTRAPS),
        ],
    ),
    (
        "Phones",
        [
            Entry("Add a phone", "phones:phone_add", Area.PHONES),
            Entry("Register phones", "phones:rollout_list", Area.PROVISIONING, Action.CHANGE),
            Entry("Automatic provisioning", "phones:auto_provisioning", Area.PROVISIONING),
            Entry("Phone files", "phones:files", Area.PROVISIONING),
        ],
    ),
    (
        "Reports",
        [
            Entry("History", "reports:history", Area.REPORTS),
            Entry("Events", "reports:event_list", Area.REPORTS),
        ],
    ),
    (
        "Licenses",
        [
            Entry("Summary", "licensing:summary", Area.LICENSES),
            Entry("Assigned", "licensing:assigned", Area.LICENSES),
        ],
    ),
    (
        "System",
        [
            # The acting customer and its ZTP card (ztp.views; every role sees the page).
            Entry("Customer", "ztp:customer_detail", Area.DASHBOARD),
            Entry("Sites", "devices:site_list", Area.SITES),
            Entry("Devices", "devices:device_list", Area.DEVICES),
            Entry("Categories", "phones:category_list", Area.PROVISIONING),
            Entry("Update jobs", "phones:job_list", Area.PROVISIONING),
            Entry("Portal Users", "accounts:user_list", Area.USERS),
        ],
    ),
]


def menu_for(request) -> list[dict]:
    """Groups with the entries this user may open; the current entry is marked active."""
    current = request.resolver_match.view_name if request.resolver_match else ""
    groups = []
    for title, entries in MENU:
        visible = [
            {
                "label": entry.label,
                "url": reverse(entry.url_name),
                "active": _section(entry.url_name) == _section(current),
            }
            for entry in entries
            if can(request.user, entry.area, entry.action)
        ]
        if visible:
            groups.append(
                {
                    "title": title,
                    "entries": visible,
                    "open": any(e["active"] for e in visible),
                    "single": len(entries) == 1,
                }
            )
    return groups


def _section(view_name: str) -> str:
    # URL names are "<app>:<noun>_<verb…>": user_add and user_edit belong to user_list's
    # entry, job_software_add to job_list's, token_qr_download to token_list's.
    app, _, name = view_name.rpartition(":")
    return f"{app}:{name.split('_', 1)[0]}"
