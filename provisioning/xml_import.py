"""Turn an uploaded XML settings file into the flat parameters a bootstrap holds.

The Zebra Voice client keeps its settings as XML, so administrators upload that file and review
the equivalent flat JSON object before saving it. The shape is recognised from the document:

1. Android SharedPreferences (how Android apps, the Voice client included, store settings): a
   ``<map>`` root whose children are typed preferences::

       <map>
         <string name="sip_server">10.0.0.1</string>     -> "10.0.0.1"
         <boolean name="tls" value="true"/>              -> True
         <int name="port" value="5060"/>                 -> 5060 (also <long>)
         <float name="gain" value="1.5"/>                -> 1.5
         <set name="codecs"><string>PCMU</string></set>  -> ["PCMU"] (document order)
         <null name="proxy"/>                            -> None
       </map>

2. Name/value settings: every child of the root is ``<setting>``, ``<param>``, ``<parameter>``,
   ``<entry>`` or ``<item>`` with a ``name`` (or ``key``) attribute; the value is the ``value``
   attribute or else the element text, as a string::

       <settings><setting name="log_level" value="Verbose"/></settings>

3. One element per setting, as a string; nested elements join their names with ".":
   ``<config><sip><server>x</server></sip></config>`` -> ``{"sip.server": "x"}``.

Text and attribute values are stripped, and an empty element gives "". Everything else -- a
duplicate setting, no settings, malformed XML, bytes that are not UTF-8 when the XML declaration
names no other encoding, more than 1 MiB, a DTD, entity declarations, external entities --
raises XmlImportError, whose message is a sentence for the administrator.
"""

import codecs
import math
import re
from collections.abc import Iterable, Iterator
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import errors as expat_errors

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

MAX_XML_BYTES = 1024 * 1024
# Real settings files are two or three levels deep; the cap keeps flattened keys sane.
MAX_DEPTH = 32

_PREFERENCE_TYPES = frozenset({"string", "boolean", "int", "long", "float", "set", "null"})
_NAME_VALUE_TAGS = frozenset({"setting", "param", "parameter", "entry", "item"})
# Java's int and long: a value Android could not have written is a broken file, not a number.
_INT_RANGES = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# At most 19 digits, so int() never meets Python's limit on huge digit strings.
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# Decimal notation only: float() would also take "nan", "inf" and "1_0".
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][\w.-]*)["']""")
# Expat reads UTF-16 from its byte-order mark (UTF-32's little-endian mark starts the same way).
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_NO_ELEMENTS = expat_errors.codes[expat_errors.XML_ERROR_NO_ELEMENTS]


class XmlImportError(ValueError):
    """The XML cannot become bootstrap parameters; the message is meant for the administrator."""


def xml_to_parameters(data: bytes | str) -> dict[str, object]:
    """Return the flat parameters described by an XML settings file (shapes: module docstring)."""
    root = _parse(data)
    children = list(root)
    if not children:
        raise XmlImportError("XML: no settings found")
    if _has_stray_text(root):
        raise XmlImportError(f"XML: <{_local(root.tag)}> contains text outside any setting")

    tags = {_local(child.tag) for child in children}
    pairs: Iterable[tuple[str, object]]
    if _local(root.tag) == "map" and tags <= _PREFERENCE_TYPES:
        pairs = map(_preference, children)
    elif tags <= _NAME_VALUE_TAGS and any(_name_attribute(child) for child in children):
        pairs = map(_name_value, children)
    else:
        pairs = _element_per_key(children)

    parameters: dict[str, object] = {}
    for key, value in pairs:
        if key in parameters:
            raise XmlImportError(f"XML: setting {_shown(key)} appears twice")
        parameters[key] = value
    return parameters


def _parse(data: bytes | str) -> Element:
    if isinstance(data, str):
        if len(data) > MAX_XML_BYTES:
            raise XmlImportError("XML: the file is larger than 1 MiB")
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise XmlImportError(
                "XML: the text contains an invalid character (an unpaired surrogate)"
            ) from exc
        # Text is already decoded: read back the UTF-8 just made, whatever the declaration says.
        override: str | None = "utf-8"
    else:
        raw = bytes(data)
        override = None
    if len(raw) > MAX_XML_BYTES:
        raise XmlImportError("XML: the file is larger than 1 MiB")
    if not raw.removeprefix(codecs.BOM_UTF8).strip():
        raise XmlImportError("XML: no settings found (the file is empty)")
    declared = _check_encoding(raw) if override is None else None

    parser = DefusedXMLParser(
        encoding=override, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(raw)
        return parser.close()
    except DTDForbidden as exc:
        # Entities can only be declared inside a DTD, so the DTD is refused before any entity
        # is seen; name the entities when they are there, since that is the attack.
        if b"<!ENTITY" in raw:
            raise XmlImportError("XML: entity declarations are not allowed") from exc
        raise XmlImportError(
            "XML: document type declarations (<!DOCTYPE>) are not allowed"
        ) from exc
    except EntitiesForbidden as exc:
        raise XmlImportError("XML: entity declarations are not allowed") from exc
    except ExternalReferenceForbidden as exc:
        raise XmlImportError("XML: external entity references are not allowed") from exc
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).rsplit(": line ", 1)[0]
        if exc.code == _NO_ELEMENTS:
            reason = "the root element is missing or never closed"
        raise XmlImportError(
            f"XML: not well-formed (line {line}, column {column + 1}): {reason}"
        ) from exc
    except (LookupError, ValueError) as exc:
        # pyexpat reports an encoding it cannot read (unknown, or multi-byte like Shift_JIS)
        # as LookupError or ValueError rather than a ParseError.
        what = f"the declared encoding '{declared}'" if declared else "the file's encoding"
        raise XmlImportError(f"XML: {what} is not supported; save the file as UTF-8") from exc


def _check_encoding(raw: bytes) -> str | None:
    """Refuse bytes that are not in the encoding the document claims; return the declared one.

    Expat would only say "not well-formed (invalid token)", which sends an administrator
    looking for a markup mistake when the problem is how the file was saved.
    """
    if raw.startswith(_UTF16_BOMS):
        return None
    body = raw.removeprefix(codecs.BOM_UTF8)
    match = _DECLARED_ENCODING.match(body)
    declared = match.group(1).decode("ascii") if match else None
    codec = "utf-8"
    if declared is not None:
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            raise XmlImportError(f"XML: the declared encoding '{declared}' is unknown") from None
        if codec not in ("utf-8", "ascii"):
            return declared  # a single-byte encoding expat decodes itself, or reports unsupported
    try:
        body.decode(codec)
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        if declared is None:
            raise XmlImportError(
                f"XML: the file is not UTF-8 (invalid byte on line {line}) and its XML "
                "declaration names no other encoding; save it as UTF-8 or declare its "
                'encoding, e.g. <?xml version="1.0" encoding="ISO-8859-1"?>'
            ) from None
        raise XmlImportError(
            f"XML: the file declares encoding '{declared}' but is not valid {declared} "
            f"(invalid byte on line {line})"
        ) from None
    return declared


def _preference(element: Element) -> tuple[str, object]:
    kind = _local(element.tag)
    name = _name_attribute(element)
    if name is None:
        raise XmlImportError(f"XML: a <{kind}> preference has no name attribute")
    if kind == "set":
        if _has_stray_text(element):
            raise XmlImportError(f"XML: set {_shown(name)} contains text outside its <string>s")
        items = []
        for item in element:
            if _local(item.tag) != "string" or len(item):
                raise XmlImportError(f"XML: set {_shown(name)} may only contain <string> elements")
            items.append(_text(item))
        return name, items
    if len(element):
        raise XmlImportError(f"XML: setting {_shown(name)} (<{kind}>) contains elements")
    if kind == "string":
        return name, _text(element)
    if kind == "null":
        return name, None

    raw = element.get("value")
    if raw is None:
        raise XmlImportError(f"XML: setting {_shown(name)} (<{kind}>) has no value attribute")
    value = raw.strip()
    if kind == "boolean":
        if value.lower() not in ("true", "false"):
            raise XmlImportError(
                f"XML: setting {_shown(name)} has boolean value {_shown(value)}; "
                "expected true or false"
            )
        return name, value.lower() == "true"
    if kind == "float":
        number = float(value) if _FLOAT.fullmatch(value) else math.nan
        if not math.isfinite(number):
            raise XmlImportError(
                f"XML: setting {_shown(name)} has float value {_shown(value)}; "
                "expected a finite number"
            )
        return name, number
    low, high = _INT_RANGES[kind]
    if not _INTEGER.fullmatch(value) or not low <= int(value) <= high:
        raise XmlImportError(
            f"XML: setting {_shown(name)} has {kind} value {_shown(value)}; "
            f"expected a whole number from {low} to {high}"
        )
    return name, int(value)


def _name_value(element: Element) -> tuple[str, str]:
    tag = _local(element.tag)
    name = _name_attribute(element)
    if name is None:
        raise XmlImportError(f"XML: a <{tag}> element has no name or key attribute")
    if len(element):
        raise XmlImportError(
            f"XML: setting {_shown(name)} contains elements; give its value as a value "
            "attribute or as text"
        )
    value = element.get("value")
    if value is None:
        return name, _text(element)
    if _text(element):
        raise XmlImportError(f"XML: setting {_shown(name)} has both a value attribute and text")
    return name, value.strip()


def _element_per_key(children: list[Element]) -> Iterator[tuple[str, str]]:
    # An explicit stack rather than recursion: a 1 MiB upload can nest far past Python's
    # recursion limit, and it has to fail with a message, not a RecursionError.
    pending = [(child, _local(child.tag), 1) for child in reversed(children)]
    while pending:
        element, key, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise XmlImportError(f"XML: settings are nested more than {MAX_DEPTH} levels deep")
        if element.attrib:
            raise XmlImportError(
                f"XML: element {_shown(key)} has attributes; when each setting is its own "
                "element the value is its text (name/value files need a name or key attribute "
                "on every <setting>, <param>, <parameter>, <entry> or <item>)"
            )
        if not len(element):
            yield key, _text(element)
            continue
        if _has_stray_text(element):
            raise XmlImportError(f"XML: element {_shown(key)} has both text and nested elements")
        pending.extend(
            (child, f"{key}.{_local(child.tag)}", depth + 1) for child in reversed(element)
        )


def _name_attribute(element: Element) -> str | None:
    name = element.get("name")
    if name is None:
        name = element.get("key")
    if name is None:
        return None
    name = name.strip()
    if not name:
        raise XmlImportError(f"XML: a <{_local(element.tag)}> element has an empty name")
    return name


def _has_stray_text(element: Element) -> bool:
    return bool(_strip(element.text)) or any(_strip(child.tail) for child in element)


def _text(element: Element) -> str:
    return _strip(element.text)


def _strip(text: str | None) -> str:
    return (text or "").strip()


def _local(tag: str) -> str:
    """The tag without its namespace: ElementTree spells a namespaced tag "{uri}name"."""
    return tag.rpartition("}")[2]


def _shown(text: str) -> str:
    """Quote a name or value for a message, cut short so a huge one cannot flood the page."""
    return repr(text if len(text) <= 80 else f"{text[:77]}...")
