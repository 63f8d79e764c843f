"""Writing a phone's file: the category's vendor-neutral settings, the phone's lines, its
firmware and its config jobs, mapped onto each vendor's own setting names by a template
(`templates/phones/files/<vendor>/[<family>/]<kind>`, or the customer's own, FileTemplate).

Templates are Django templates run by an engine of their own with no loaders beyond the
shipped folder; a customer's template runs in one with no loader at all, and is refused
if it has a tag that would reach another file or tag library. Every value is cleaned
before it reaches a template: control characters (which no XML parser accepts and which
would end a CFG line) are dropped. XML files are
escaped by the engine (`&`, `<`, `>`, quotes); CFG files, which have no escaping, get one
line per value with the spaces around it trimmed, as the phone's parser trims them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

from phones.files.vendors import Vendor

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "phones" / "files"

# Vendor-neutral settings a category (its bootstrap) or a config job may give, as JSON
# keys. Anything else under a vendor's key ("snom", "yealink", "gigaset") is passed to
# that vendor's file as its own setting names (`vendor_settings`).
NEUTRAL = ("sipServer", "sipPort", "ntpServer", "timeZone", "language")

# ISO 639-1 codes to the names each vendor's language setting takes. Snom's from Tancredi's
# snom.macros; Yealink's `lang.gui` names from the Yealink admin guide's examples.
LANGUAGES = {
    "snom": {
        "da": "Dansk",
        "de": "Deutsch",
        "en": "English",
        "es": "Español",
        "fi": "Suomi",
        "fr": "Français",
        "it": "Italiano",
        "nl": "Nederlands",
        "no": "Norsk",
        "pt": "Português",
        "sv": "Svenska",
    },
    "yealink": {
        "de": "German",
        "en": "English",
        "es": "Spanish",
        "fr": "French",
        "it": "Italian",
        "pt": "Portuguese",
    },
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_VENDOR_KEY = {
    "snom": re.compile(r"[a-z][a-z0-9_]{0,63}"),
    "yealink": re.compile(r"[a-z][a-z0-9_.]{0,127}"),
    "gigaset": re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,127}"),
}


def clean(value: Any) -> str:
    """A setting's value as text a phone's parser takes: scalars only, no control
    characters, no spaces around it (a CFG parser would trim them)."""
    if isinstance(value, bool):
        text = "1" if value else "0"
    elif isinstance(value, (int, float)):
        try:
            text = str(value)
        except ValueError:  # an integer too long to write out
            return ""
    elif isinstance(value, str):
        text = value
    else:
        return ""
    return _CONTROL.sub(" ", text[:1024]).strip()


@dataclass(frozen=True)
class Line:
    position: int
    extension: str
    display_name: str
    auth_user: str
    password: str


@dataclass(frozen=True)
class PhoneInputs:
    """Everything a phone's file is written from."""

    vendor: Vendor
    mac: str  # 0090331A2B3C
    model: str = ""
    family: str = ""
    customer: str = ""
    settings: dict[str, Any] = field(default_factory=dict)  # the category's bootstrap
    config_jobs: tuple[dict[str, Any], ...] = ()  # parameters, oldest first
    firmware: dict[str, Any] | None = None  # the latest software job's description
    lines: tuple[Line, ...] = ()
    provisioning_url: str = ""  # what the phone is set to fetch from next time
    files_url: str = ""  # the folder of this vendor's files (firmware file, …)


def _utc_offset(zone: str, now: datetime) -> int | None:
    try:
        offset = now.astimezone(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None
    return int(offset.total_seconds()) if offset is not None else None


def firmware_url(vendor: Vendor, family: str, firmware: dict[str, Any] | None) -> str:
    """The software job's file for this vendor and model family (`files`:
    {"yealink/66": URL, …}), else its one `url`, else ""."""
    if not isinstance(firmware, dict):
        return ""
    files = firmware.get("files")
    if isinstance(files, dict) and f"{vendor.key}/{family}" in files:
        return clean(files[f"{vendor.key}/{family}"])
    return clean(firmware.get("url"))


def context(inputs: PhoneInputs, now: datetime) -> dict[str, Any]:
    """The template's variables, every value cleaned."""
    vendor = inputs.vendor
    merged: dict[str, Any] = {}
    own: dict[str, str] = {}
    for layer in (inputs.settings, *inputs.config_jobs):
        if not isinstance(layer, dict):
            continue
        merged.update({key: layer[key] for key in NEUTRAL if key in layer})
        extra = layer.get(vendor.key)
        if isinstance(extra, dict):
            own.update(
                {
                    key: clean(value)
                    for key, value in extra.items()
                    if isinstance(key, str) and _VENDOR_KEY[vendor.key].fullmatch(key)
                }
            )
    port = merged.get("sipPort")
    zone = clean(merged.get("timeZone"))
    language = clean(merged.get("language")).lower()[:2]
    settings = {
        "sip_server": clean(merged.get("sipServer")),
        "sip_port": str(port) if type(port) is int and 0 < port < 65536 else "",
        "ntp_server": clean(merged.get("ntpServer")),
        "time_zone": zone,
        "utc_offset": _utc_offset(zone, now) if zone else None,
        "language": LANGUAGES.get(vendor.key, {}).get(language, ""),
    }
    if settings["utc_offset"] is not None:
        # Yealink's local_time.time_zone: +1, -5, +5:30.
        offset = settings["utc_offset"]
        hours, minutes = divmod(abs(offset) // 60, 60)
        sign = "-" if offset < 0 else "+"
        settings["yealink_time_zone"] = f"{sign}{hours}" + (f":{minutes:02}" if minutes else "")
    return {
        "vendor": vendor.key,
        "customer": clean(inputs.customer),
        "phone": {
            "mac": inputs.mac,
            "mac_lower": inputs.mac.lower(),
            "model": clean(inputs.model),
            "family": inputs.family,
        },
        "settings": settings,
        "vendor_settings": sorted(own.items()),
        "lines": [
            {
                "position": line.position,
                "index0": line.position - 1,
                "extension": clean(line.extension),
                "display_name": clean(line.display_name),
                "auth_user": clean(line.auth_user) or clean(line.extension),
                "password": clean(line.password),
            }
            for line in inputs.lines[:12]
        ],
        "firmware_url": firmware_url(vendor, inputs.family, inputs.firmware),
        "firmware_version": clean((inputs.firmware or {}).get("version"))
        if isinstance(inputs.firmware, dict)
        else "",
        "provisioning_url": inputs.provisioning_url,
        "files_url": inputs.files_url,
    }


@cache
def engine() -> Engine:
    """The phone files' own engine: the shipped folder only, Django's built-in tags."""
    return Engine(dirs=[str(TEMPLATES)], app_dirs=False, debug=True)  # errors name a line


@cache
def own_engine() -> Engine:
    """The engine of customers' templates: no loader at all, so no file can be reached."""
    return Engine(loaders=[], app_dirs=False, debug=True)


# Tags that would reach another file or another tag library.
_REACHING = re.compile(r"{%\s*(include|extends|load|ssi)\b")


def _context(vendor: Vendor, values: dict[str, Any]) -> Context:
    # XML is escaped; CFG has no escaping (its values are cleaned instead).
    return Context(values, autoescape=vendor.format == "xml")


def shipped_template(vendor: Vendor, family: str, kind: str):
    names = [f"{vendor.key}/{family}/{kind}"] if family else []
    names.append(f"{vendor.key}/{kind}")
    return engine().select_template(names)


def render(inputs: PhoneInputs, kind: str, now: datetime, override: str | None = None) -> str:
    """The file of `kind` for the phone, from the customer's template when it has one."""
    values = context(inputs, now)
    if override is not None:
        try:
            return _compiled(override).render(_context(inputs.vendor, values))
        except Exception as exc:  # anything a customer template raises
            # Checked when saved, but a phone's own values may still trip it: the phone
            # gets the shipped file rather than none, and the operator hears of it.
            log.warning(
                "own %s %s template failed, shipped one used: %s",
                inputs.vendor.key,
                kind,
                type(exc).__name__,
            )
    template = shipped_template(inputs.vendor, inputs.family, kind)
    return template.render(_context(inputs.vendor, values))


@lru_cache(maxsize=64)
def _compiled(body: str):
    """A customer's template, parsed once per process (phones fetch all day)."""
    return own_engine().from_string(body)


class TemplateRefused(ValueError):
    """A customer's template that does not render: the line and the error."""

    def __init__(self, line: int | None, message: str):
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


SAMPLE_MODELS = {"snom": "D785", "yealink": "T46S", "gigaset": "MAXWELL3"}


def sample_inputs(vendor: Vendor) -> PhoneInputs:
    """A phone to try a template on: every kind of value it must escape."""
    model = SAMPLE_MODELS[vendor.key]
    return PhoneInputs(
        vendor=vendor,
        mac="000413ABCDEF",
        model=model,
        family=vendor.family_of(model) or "",
        customer='Sample & "Sons" <Ltd> #1',
        settings={
            "sipServer": "sip.example.com",
            "sipPort": 5060,
            "ntpServer": "pool.ntp.org",
            "timeZone": "Europe/Berlin",
            "language": "de",
        },
        firmware={"url": "https://files.example.com/firmware.bin"},
        lines=(Line(1, "201", "Zoë O'Brien & Co <desk>", "201", "p#ss w<rd&\"'"),),
        provisioning_url="https://pm.example.com/phones/0123456789abcdef/",
        files_url="https://pm.example.com/phones/0123456789abcdef/",
    )


def template_check(vendor: Vendor, kind: str, body: str, now: datetime) -> str:
    """Render `body` for the sample phone; the rendered file, or TemplateRefused."""
    reaching = _REACHING.search(body)
    if reaching:
        line = body.count("\n", 0, reaching.start()) + 1
        raise TemplateRefused(line, f"templates cannot include other files ({{% {reaching[1]} %}})")
    try:
        template = _compiled(body)
        return template.render(_context(vendor, context(sample_inputs(vendor), now)))
    except TemplateSyntaxError as exc:
        info = getattr(exc, "template_debug", None) or {}
        raise TemplateRefused(info.get("line"), str(exc)) from None
    except TemplateDoesNotExist as exc:
        raise TemplateRefused(None, f"templates cannot include other files ({exc})") from None
    except Exception as exc:  # anything a customer template raises
        raise TemplateRefused(None, f"does not render: {type(exc).__name__}: {exc}") from None
