"""A desk phone, as its firmware fetches and reads its files, per the vendors' public
documentation (phones.files.vendors names the sources). It shares nothing with the code
that writes the files but the documented formats: the file names a phone asks for, the
User-Agent it sends, and a parser as strict as the phone's. (What it prints has the URL
secret masked, by phones.files.access.secret_masked.)

- Snom: GET the `setting_server` URL with `{mac}` replaced by the MAC (upper case); the
  answer must be well-formed XML `<settings>` holding `<phone-settings>` (and optionally
  `<functionKeys>`), each setting an element with a `perm` attribute. A
  `firmware_status` setting names the firmware setting file, fetched next:
  `<firmware-settings><firmware>URL</firmware></firmware-settings>`.
- Yealink: GET `<url>y0000000000XX.cfg` (XX: the model's family), then `<url><mac>.cfg`
  (lower case); each must start `#!version:1.0.0.1`, and every other line be empty, a
  `#` comment, or `key = value` with a key of lower-case letters, digits, `_` and `.`.
  The common file is optional to the phone (a 404 is skipped), the MAC file is not.
- Gigaset: GET the provisioning URL with `%MACD` replaced by the MAC (upper case); the
  answer must be well-formed XML `<provisioning version="1.1">` whose settings are
  `<param name="…" value="…"/>` (in `<nvm>`), and firmware `<file version url>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx
from defusedxml import ElementTree as SafeET

from phones.files.access import secret_masked

# The model families of a few Yealink models (the number in the common file's name), as
# the firmware of each model knows its own.
YEALINK_FAMILY = {"T41S": 68, "T42S": 67, "T46S": 66, "T48S": 65, "T54S": 70, "T46U": 108}

USER_AGENTS = {
    "snom": "Mozilla/4.0 (compatible; snom{model}-SIP 10.4.1.19 1.1.5-IFX-05.01.12)",
    "yealink": "Yealink SIP-{model} 66.86.0.15 {mac_colon}",
    "gigaset": "Gigaset {model}/2.50.1",
}


class PhoneRefused(Exception):
    """What a phone would reject: a failed fetch or a file its parser does not take."""


@dataclass
class Applied:
    """What the phone would apply: settings by name (per-line ones as name[idx])."""

    settings: dict[str, str] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)


def _get(url: str, user_agent: str, *, optional: bool = False, timeout: float = 10) -> str | None:
    if not url.startswith(("http://", "https://")):
        raise PhoneRefused(f"{secret_masked(url)}: a phone fetches http:// or https:// only")
    try:
        answer = httpx.get(url, headers={"User-Agent": user_agent}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PhoneRefused(f"GET {secret_masked(url)}: {exc}") from None
    if optional and answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise PhoneRefused(f"GET {secret_masked(url)}: HTTP {answer.status_code}")
    try:
        return answer.content.decode("utf-8")
    except UnicodeDecodeError:
        raise PhoneRefused(f"GET {secret_masked(url)}: not UTF-8") from None


def _xml(text: str, root: str) -> ET.Element:
    try:
        element = SafeET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise PhoneRefused(f"not well-formed XML: {exc}") from None
    if element.tag != root:
        raise PhoneRefused(f"root element is <{element.tag}>, not <{root}>")
    return element


def parse_snom(text: str) -> dict[str, str]:
    root = _xml(text, "settings")
    settings = {}
    for part in root:
        if part.tag not in {"phone-settings", "functionKeys"}:
            raise PhoneRefused(f"<settings> holds <{part.tag}>")
        for setting in part:
            if "perm" not in setting.attrib:
                raise PhoneRefused(f"<{setting.tag}> has no perm attribute")
            name = setting.tag + (f"[{setting.get('idx')}]" if setting.get("idx") else "")
            settings[name] = setting.text or ""
    return settings


def parse_snom_firmware(text: str) -> dict[str, str]:
    root = _xml(text, "firmware-settings")
    return {child.tag: child.text or "" for child in root}


_CFG_LINE = re.compile(r"(?P<key>[a-z0-9_.]+) = (?P<value>.*)")


def parse_cfg(text: str) -> dict[str, str]:
    lines = text.split("\n")
    if lines[0].rstrip("\r") != "#!version:1.0.0.1":
        raise PhoneRefused("the first line is not #!version:1.0.0.1")
    settings = {}
    for number, line in enumerate(lines[1:], start=2):
        line = line.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        found = _CFG_LINE.fullmatch(line)
        if found is None:
            raise PhoneRefused(f"line {number} is not `key = value`: {line[:60]!r}")
        settings[found["key"]] = found["value"].strip()
    return settings


def parse_gigaset(text: str) -> dict[str, str]:
    root = _xml(text, "provisioning")
    if root.get("version") != "1.1":
        raise PhoneRefused('<provisioning> is not version="1.1"')
    settings = {}
    for part in root:
        if part.tag == "nvm":
            for param in part:
                if param.tag != "param" or "name" not in param.attrib:
                    raise PhoneRefused(f"<nvm> holds <{param.tag}> without a name")
                settings[param.get("name")] = param.get("value", "")
        elif part.tag == "firmware":
            for file in part:
                settings["firmware"] = file.get("url", "")
                settings["firmware.version"] = file.get("version", "")
        elif part.tag != "custom":
            raise PhoneRefused(f"<provisioning> holds <{part.tag}>")
    return settings


def simulate(*, vendor: str, mac: str, url: str, model: str) -> Applied:
    """Fetch the phone's files from `url` as the firmware does and read them."""
    mac = re.sub("[^0-9A-Fa-f]", "", mac).upper()
    if len(mac) != 12:
        raise PhoneRefused("mac: 12 hexadecimal digits")
    colon = ":".join(mac[i : i + 2] for i in range(0, 12, 2)).lower()
    agent = USER_AGENTS[vendor].format(model=model, mac_colon=colon)
    applied = Applied()
    if vendor == "snom":
        first = url.replace("{mac}", mac)
        applied.settings.update(parse_snom(_get(first, agent)))
        applied.fetched.append(secret_masked(first))
        status = applied.settings.get("firmware_status")
        if status:
            applied.settings.update(parse_snom_firmware(_get(status, agent)))
            applied.fetched.append(secret_masked(status))
    elif vendor == "yealink":
        folder = url if url.endswith("/") else url + "/"
        family = YEALINK_FAMILY.get(model.upper())
        if family is None:
            raise PhoneRefused(f"model: the simulator knows {', '.join(YEALINK_FAMILY)}")
        common = f"{folder}y{family:012d}.cfg"
        text = _get(common, agent, optional=True)
        if text is not None:
            applied.settings.update(parse_cfg(text))
            applied.fetched.append(secret_masked(common))
        own = f"{folder}{mac.lower()}.cfg"
        applied.settings.update(parse_cfg(_get(own, agent)))
        applied.fetched.append(secret_masked(own))
    elif vendor == "gigaset":
        first = url.replace("%MACD", mac)
        applied.settings.update(parse_gigaset(_get(first, agent)))
        applied.fetched.append(secret_masked(first))
    else:
        raise PhoneRefused("vendor: snom, yealink or gigaset")
    return applied
