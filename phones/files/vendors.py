"""The desk-phone vendors whose own configuration files the server writes: which files
each firmware asks for, in which order, how it spells its MAC and its model, and the
model families a template can be written for.

Sources (public vendor documentation and working template sets, read for the file names
and setting names only):

- Snom: "Configuring snom phones for Mass Deployment" (snom technology AG) and the Snom
  service wiki "Setting Files" page: the phone fetches its `setting_server` URL after
  replacing `{mac}` with its own MAC; an XML settings file is
  `<settings><phone-settings>…</phone-settings><functionKeys>…</functionKeys></settings>`,
  each setting an element named after it with a `perm` attribute (`idx` for per-line
  ones); `firmware_status` names a firmware setting file
  `<firmware-settings><firmware>URL</firmware></firmware-settings>`. User-Agent:
  `Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 …)`.
- Yealink: the Yealink SIP-T phones Auto Provisioning guide (as in the wazo-provd Yealink
  plugins and Tancredi's yealink templates): with `static.auto_provision.server.url` the
  phone fetches the common file `y0000000000XX.cfg` (XX: its model family) and then
  `<mac>.cfg` (lower case, no separators); each file starts `#!version:1.0.0.1`, `#`
  lines are comments, every other line is `key = value`. User-Agent:
  `Yealink SIP-T46S 66.86.0.15 00:15:65:12:34:56`.
- Gigaset: Gigaset's GIGAWiki, "The XML provisioning file" and "FAQ Maxwell - Auto
  provisioning Nested profiles": the provisioning URL may carry `%MACD`, which the phone
  replaces with its MAC; the file is `<provisioning version="1.1">` with
  `<param name="…" value="…"/>` settings (in `<nvm>`) and the firmware as
  `<firmware><file version="…" url="…"/></firmware>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Each file a vendor's phone fetches: its kind (the template's name) and whether it is
# the phone's own (named by its MAC) or its model family's.
SETTINGS = "settings"
FIRMWARE = "firmware"
COMMON = "common"


@dataclass(frozen=True)
class FileRequest:
    """A file name a phone asked for, read: which kind, for which MAC (None for a model
    family's common file) and which family (None when the name does not say)."""

    kind: str
    mac: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class Vendor:
    key: str
    label: str
    format: str  # "xml" or "cfg": how values are escaped (phones.files.render)
    content_type: str
    # Model (upper case, as the User-Agent spells it) -> model family.
    families: dict[str, str]
    user_agent: re.Pattern
    names: tuple[tuple[re.Pattern, str], ...] = field(default=())

    def request(self, name: str) -> FileRequest | None:
        """The file `name` (the part after `/phones/<secret>/<vendor>/`), or None when this
        vendor's phones never ask for such a name."""
        for pattern, kind in self.names:
            found = pattern.fullmatch(name)
            if found is None:
                continue
            parts = found.groupdict()
            family = parts.get("family")
            if family is not None:
                family = family.lstrip("0") or "0"
            if family is not None and family not in self.families.values():
                return FileRequest(kind, family="")  # a name of the form, no such family
            return FileRequest(kind, mac=parts.get("mac", "").upper() or None, family=family)
        return None

    def model_of(self, user_agent: str) -> tuple[str, str]:
        """(model, firmware) from a User-Agent header, each "" when it does not say; the
        model spelled as in `families` (Gigaset's "Maxwell 3" and "Maxwell-3" are
        MAXWELL3)."""
        found = self.user_agent.search(user_agent[:512])
        if found is None:
            return "", ""
        model = re.sub(r"[ _-]", "", found.group("model")).upper()
        return model, (found.groupdict().get("firmware") or "")[:64]

    def family_of(self, model: str) -> str | None:
        return self.families.get(model.upper())


_MAC = r"(?P<mac>[0-9A-Fa-f]{12})"

SNOM = Vendor(
    key="snom",
    label="Snom",
    format="xml",
    content_type="application/xml; charset=utf-8",
    families={
        model: model
        for model in [
            "D120",
            "D140",
            "D150",
            "D315",
            "D335",
            "D345",
            "D375",
            "D385",
            "D712",
            "D713",
            "D715",
            "D717",
            "D725",
            "D735",
            "D745",
            "D765",
            "D785",
            "D862",
            "D865",
            "300",
            "320",
            "360",
            "370",
            "710",
            "715",
            "720",
            "725",
            "760",
            "820",
            "821",
            "870",
        ]
    },
    user_agent=re.compile(r"\bsnom(?P<model>D?\d{3})-SIP(?: (?P<firmware>[0-9.]+))?", re.I),
    names=(
        (re.compile(_MAC + r"\.xml"), SETTINGS),
        (re.compile(_MAC + r"-firmware\.xml"), FIRMWARE),
    ),
)

# Yealink model families are the number in the common file's name. From the wazo-provd
# Yealink plugins' COMMON_FILES tables (each firmware file lists the models it is for).
_YEALINK_FAMILIES = {
    "28": ("T46G",),
    "29": ("T42G",),
    "35": ("T48G",),
    "36": ("T41P",),
    "65": ("T48S",),
    "66": ("T46S",),
    "67": ("T42S",),
    "68": ("T41S",),
    "69": ("T27G",),
    "70": ("T54S",),
    "74": ("T52S",),
    "108": ("T41U", "T42U", "T43U", "T46U", "T48U"),
}

YEALINK = Vendor(
    key="yealink",
    label="Yealink",
    format="cfg",
    content_type="text/plain; charset=utf-8",
    families={model: number for number, models in _YEALINK_FAMILIES.items() for model in models},
    user_agent=re.compile(r"\bYealink SIP-(?P<model>[A-Z0-9]+)(?: (?P<firmware>[0-9.]+))?", re.I),
    names=(
        (re.compile(r"y(?P<family>[0-9]{12})\.cfg"), COMMON),
        (re.compile(_MAC + r"\.cfg"), SETTINGS),
    ),
)

GIGASET = Vendor(
    key="gigaset",
    label="Gigaset",
    format="xml",
    content_type="application/xml; charset=utf-8",
    families={"MAXWELL3": "Maxwell", "MAXWELL4": "Maxwell", "MAXWELL10": "Maxwell"},
    user_agent=re.compile(r"\bGigaset[ /-]?(?P<model>Maxwell[ _-]?\d+)", re.I),
    names=((re.compile(_MAC + r"\.xml"), SETTINGS),),
)

VENDORS: dict[str, Vendor] = {vendor.key: vendor for vendor in (SNOM, YEALINK, GIGASET)}


def vendor_for_model(model: str) -> Vendor | None:
    """The vendor whose families list `model` (as a phone reported it), if one does."""
    spelled = re.sub(r"[ _-]", "", model).upper()
    return next((v for v in VENDORS.values() if spelled in v.families), None)
