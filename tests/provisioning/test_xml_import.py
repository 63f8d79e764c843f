"""xml_to_parameters: the three shapes, typed values, and hostile or broken input refused."""

import pytest

from provisioning.xml_import import MAX_XML_BYTES, XmlImportError, xml_to_parameters


def import_error(data: bytes | str) -> str:
    with pytest.raises(XmlImportError) as info:
        xml_to_parameters(data)
    return str(info.value)


def test_shared_preferences_values_keep_their_types():
    data = b"""<?xml version='1.0' encoding='utf-8' standalone='yes' ?>
<map>
    <string name="sip_server"> 10.0.0.1 </string>
    <boolean name="tls" value="true" />
    <boolean name="vad" value="False" />
    <int name="port" value="5060" />
    <long name="x" value="-9" />
    <float name="g" value="1.5" />
    <float name="big" value="1.0E10" />
    <set name="codecs">
        <string>PCMU</string>
        <string>G722</string>
    </set>
    <set name="none" />
    <string name="blank"></string>
    <null name="proxy" />
</map>
"""
    assert xml_to_parameters(data) == {
        "sip_server": "10.0.0.1",
        "tls": True,
        "vad": False,
        "port": 5060,
        "x": -9,
        "g": 1.5,
        "big": 1.0e10,
        "codecs": ["PCMU", "G722"],
        "none": [],
        "blank": "",
        "proxy": None,
    }


def test_shared_preferences_types_are_exact():
    params = xml_to_parameters(
        '<map><boolean name="b" value="true"/><int name="i" value="1"/>'
        '<float name="f" value="2"/><string name="s">3</string></map>'
    )
    assert [type(value) for value in params.values()] == [bool, int, float, str]


@pytest.mark.parametrize(
    ("element", "message"),
    [
        (
            '<boolean name="tls" value="yes"/>',
            "XML: setting 'tls' has boolean value 'yes'; expected true or false",
        ),
        (
            '<int name="port" value="5060.5"/>',
            "XML: setting 'port' has int value '5060.5'; "
            "expected a whole number from -2147483648 to 2147483647",
        ),
        (
            '<int name="port" value="2147483648"/>',
            "XML: setting 'port' has int value '2147483648'; "
            "expected a whole number from -2147483648 to 2147483647",
        ),
        (
            f'<long name="x" value="{"9" * 5000}"/>',
            f"XML: setting 'x' has long value '{'9' * 77}...'; expected a whole number "
            "from -9223372036854775808 to 9223372036854775807",
        ),
        (
            '<float name="g" value="NaN"/>',
            "XML: setting 'g' has float value 'NaN'; expected a finite number",
        ),
        (
            '<float name="g" value="1e999"/>',
            "XML: setting 'g' has float value '1e999'; expected a finite number",
        ),
        ('<int name="port"/>', "XML: setting 'port' (<int>) has no value attribute"),
        ('<string value="x"/>', "XML: a <string> preference has no name attribute"),
        (
            '<set name="codecs"><int>1</int></set>',
            "XML: set 'codecs' may only contain <string> elements",
        ),
    ],
)
def test_shared_preferences_bad_values_are_named(element, message):
    assert import_error(f"<map>{element}</map>") == message


def test_name_value_settings():
    data = b"""<settings>
    <setting name="var_location" value="https://voice.example.com/cfg"/>
    <setting name="log_level">
        Verbose
    </setting>
    <setting name="empty"/>
</settings>"""
    assert xml_to_parameters(data) == {
        "var_location": "https://voice.example.com/cfg",
        "log_level": "Verbose",
        "empty": "",
    }


def test_name_value_accepts_every_element_name_and_key_attribute():
    data = (
        '<root><param name="a" value="1"/><parameter key="b">2</parameter>'
        '<entry key="c" value=" 3 "/><item name="d">4</item></root>'
    )
    assert xml_to_parameters(data) == {"a": "1", "b": "2", "c": "3", "d": "4"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            '<settings><setting name="a" value="1"/><setting value="2"/></settings>',
            "XML: a <setting> element has no name or key attribute",
        ),
        (
            '<settings><setting name="a" value="1">2</setting></settings>',
            "XML: setting 'a' has both a value attribute and text",
        ),
        (
            '<settings><setting name="a"><v>1</v></setting></settings>',
            "XML: setting 'a' contains elements; give its value as a value attribute or as text",
        ),
        (
            '<settings><setting name=" " value="1"/></settings>',
            "XML: a <setting> element has an empty name",
        ),
    ],
)
def test_name_value_mistakes_are_refused(data, message):
    assert import_error(data) == message


def test_element_per_key():
    data = b"""<config>
    <var_location>https://voice.example.com/cfg</var_location>
    <drop_detection_feature_enable> 1 </drop_detection_feature_enable>
    <empty/>
</config>"""
    assert xml_to_parameters(data) == {
        "var_location": "https://voice.example.com/cfg",
        "drop_detection_feature_enable": "1",
        "empty": "",
    }


def test_element_per_key_flattens_nesting_in_document_order():
    data = (
        "<config><a>1</a><sip><server>x</server><tls><port>5061</port></tls></sip>"
        "<b>2</b><sip><proxy>p</proxy></sip></config>"
    )
    params = xml_to_parameters(data)
    assert params == {
        "a": "1",
        "sip.server": "x",
        "sip.tls.port": "5061",
        "b": "2",
        "sip.proxy": "p",
    }
    assert list(params) == ["a", "sip.server", "sip.tls.port", "b", "sip.proxy"]


def test_element_per_key_drops_namespaces():
    data = '<c:config xmlns:c="urn:x"><c:sip><c:server>x</c:server></c:sip></c:config>'
    assert xml_to_parameters(data) == {"sip.server": "x"}


def test_element_that_looks_like_a_setting_but_has_no_name_is_a_key():
    assert xml_to_parameters("<config><item>5</item></config>") == {"item": "5"}


def test_map_root_with_other_children_is_element_per_key():
    assert xml_to_parameters("<map><sip><server>x</server></sip></map>") == {"sip.server": "x"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            '<config><setting value="1"/><other>2</other></config>',
            "XML: element 'setting' has attributes; when each setting is its own element the "
            "value is its text (name/value files need a name or key attribute on every "
            "<setting>, <param>, <parameter>, <entry> or <item>)",
        ),
        (
            "<config><sip>udp<server>x</server></sip></config>",
            "XML: element 'sip' has both text and nested elements",
        ),
        ("<config>stray<a>1</a></config>", "XML: <config> contains text outside any setting"),
        (
            "<config>" + "<a>" * 33 + "</a>" * 33 + "</config>",
            "XML: settings are nested more than 32 levels deep",
        ),
    ],
)
def test_element_per_key_mistakes_are_refused(data, message):
    assert import_error(data) == message


def test_very_deep_nesting_fails_cleanly():
    depth = 100_000
    assert import_error(b"<c>" + b"<a>" * depth + b"</a>" * depth + b"</c>") == (
        "XML: settings are nested more than 32 levels deep"
    )


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ('<map><string name="a">1</string><int name="a" value="2"/></map>', "a"),
        ('<settings><setting name="a" value="1"/><item key="a">2</item></settings>', "a"),
        ("<config><a>1</a><a>2</a></config>", "a"),
        ("<config><sip><server>x</server></sip><sip.server>y</sip.server></config>", "sip.server"),
    ],
)
def test_duplicate_key_is_named(data, key):
    assert import_error(data) == f"XML: setting '{key}' appears twice"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "XML: no settings found (the file is empty)"),
        (" \n\t", "XML: no settings found (the file is empty)"),
        (b"\xef\xbb\xbf\n", "XML: no settings found (the file is empty)"),
        ("<map/>", "XML: no settings found"),
        ("<config>just text</config>", "XML: no settings found"),
        ('<?xml version="1.0"?>\n<settings>\n</settings>', "XML: no settings found"),
    ],
)
def test_empty_or_settingless_document(data, message):
    assert import_error(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"<config>\n  <a>1</a>\n  <b>2</c>\n</config>",
            "XML: not well-formed (line 3, column 9): mismatched tag",
        ),
        (
            b"<config><a>1</a>",
            "XML: not well-formed (line 1, column 17): the root element is missing or never closed",
        ),
        (
            '<?xml version="1.0"?>',
            "XML: not well-formed (line 1, column 22): the root element is missing or never closed",
        ),
        (
            b"<a>1</a><b>2</b>",
            "XML: not well-formed (line 1, column 9): junk after document element",
        ),
        (b"<a><b>&nope;</b></a>", "XML: not well-formed (line 1, column 7): undefined entity"),
        ("not xml at all", "XML: not well-formed (line 1, column 1): syntax error"),
    ],
)
def test_malformed_document_gives_position(data, message):
    assert import_error(data) == message


def test_too_large_is_refused():
    big = b"<c>" + b"x" * MAX_XML_BYTES + b"</c>"
    assert import_error(big) == "XML: the file is larger than 1 MiB"
    assert import_error(big.decode()) == "XML: the file is larger than 1 MiB"


def test_exactly_one_mib_is_accepted():
    head, tail = b"<c><a>", b"</a></c>"
    data = head + b"x" * (MAX_XML_BYTES - len(head) - len(tail)) + tail
    assert len(data) == MAX_XML_BYTES
    assert xml_to_parameters(data) == {"a": "x" * (MAX_XML_BYTES - len(head) - len(tail))}


def test_str_over_one_mib_once_encoded_is_refused():
    data = "<c><a>" + "é" * (MAX_XML_BYTES // 2) + "</a></c>"
    assert len(data) < MAX_XML_BYTES
    assert import_error(data) == "XML: the file is larger than 1 MiB"


def test_non_utf8_without_declaration_is_refused():
    assert import_error("<config>\n<city>Montréal</city></config>".encode("latin-1")) == (
        "XML: the file is not UTF-8 (invalid byte on line 2) and its XML declaration names no "
        'other encoding; save it as UTF-8 or declare its encoding, e.g. <?xml version="1.0" '
        'encoding="ISO-8859-1"?>'
    )


def test_declared_utf8_that_is_not_utf8_is_refused():
    data = '<?xml version="1.0" encoding="UTF-8"?>\n<c><a>Montréal</a></c>'.encode("latin-1")
    assert import_error(data) == (
        "XML: the file declares encoding 'UTF-8' but is not valid UTF-8 (invalid byte on line 2)"
    )


def test_declared_single_byte_encoding_is_read():
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><c><a>Montréal</a></c>'
    assert xml_to_parameters(data.encode("latin-1")) == {"a": "Montréal"}


def test_utf16_with_byte_order_mark_is_read():
    data = '<?xml version="1.0" encoding="UTF-16"?><c><a>Montréal</a></c>'.encode("utf-16")
    assert xml_to_parameters(data) == {"a": "Montréal"}


def test_str_input_ignores_its_declared_encoding():
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><c><a>Montréal</a></c>'
    assert xml_to_parameters(data) == {"a": "Montréal"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0" encoding="klingon"?><c><a>1</a></c>',
            "XML: the declared encoding 'klingon' is unknown",
        ),
        (
            b'<?xml version="1.0" encoding="Shift_JIS"?><c><a>\x82\xa0</a></c>',
            "XML: the declared encoding 'Shift_JIS' is not supported; save the file as UTF-8",
        ),
        (
            "<c><a>\ud800</a></c>",
            "XML: the text contains an invalid character (an unpaired surrogate)",
        ),
    ],
)
def test_unreadable_encodings_are_refused(data, message):
    assert import_error(data) == message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<map><string name="lolz">&lol9;</string></map>
"""


def test_billion_laughs_is_refused():
    assert import_error(BILLION_LAUGHS) == "XML: entity declarations are not allowed"
    assert import_error(BILLION_LAUGHS.decode()) == "XML: entity declarations are not allowed"


XXE_VARIANTS = [
    b"""<?xml version="1.0"?>
<!DOCTYPE map [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<map><string name="sip_server">&xxe;</string></map>""",
    b"""<!DOCTYPE config [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<config><var_location>&xxe;</var_location></config>""",
    b"""<!DOCTYPE settings [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<settings><setting name="a" value="1"/></settings>""",
]


@pytest.mark.parametrize("data", XXE_VARIANTS)
def test_external_entities_are_refused_and_never_read(data):
    with pytest.raises(XmlImportError) as info:
        xml_to_parameters(data)
    assert str(info.value) == "XML: entity declarations are not allowed"
    chain = []
    error: BaseException | None = info.value
    while error is not None:
        chain.append(f"{error!r} {error}")
        error = error.__cause__ or error.__context__
    assert "root:" not in " ".join(chain)


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?>\n<!DOCTYPE map>\n<map><string name="a">1</string></map>',
        b'<!DOCTYPE config SYSTEM "http://example.com/config.dtd"><config><a>1</a></config>',
        b"<!DOCTYPE config [<!ELEMENT config ANY>]><config><a>1</a></config>",
    ],
)
def test_dtd_is_refused(data):
    assert import_error(data) == "XML: document type declarations (<!DOCTYPE>) are not allowed"


def test_error_is_a_value_error():
    assert issubclass(XmlImportError, ValueError)
