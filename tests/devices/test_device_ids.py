"""device_id_build: one case per row of the guide's "Device IDs" table, plus refusals."""

import pytest
from django.core.exceptions import ValidationError

from devices.models import AppId, DeviceKind
from devices.services import device_id_build, parse_version, site_provisioning_applies

V, T, IOS = DeviceKind.VENDOR, DeviceKind.THIRD_PARTY_ANDROID, DeviceKind.IOS


@pytest.mark.parametrize(
    ("row", "inputs", "expected"),
    [
        (
            "vendor Android, any app and release: model + _ + serial",
            dict(kind=V, model="TC52", serial="18304522512397", app_id=AppId.VOICE),
            "TC52_18304522512397",
        ),
        (
            "vendor Android, PTT Pro",
            dict(kind=V, model="TC21", serial="201335230D5089", app_id=AppId.PTT_PRO),
            "TC21_201335230D5089",
        ),
        (
            "iOS, PTT Pro: model + _ + iOS ID",
            dict(kind=IOS, model="iPhone14,2", ios_id="6F1C2A", app_id=AppId.PTT_PRO_IOS),
            "iPhone14,2_6F1C2A",
        ),
        (
            "third-party, PTT Pro before 3.3.10197 on Android 9: model + _ + serial",
            dict(
                kind=T,
                model="Pixel 3",
                serial="8AQX1",
                app_id=AppId.PTT_PRO,
                app_version="3.3.10100",
                android_version=9,
            ),
            "Pixel 3_8AQX1",
        ),
        (
            "third-party, PTT Pro 3.3.10197+ on Android 10+: model + _ + Android ID",
            dict(
                kind=T,
                model="Pixel 7",
                android_id="a1b2c3",
                app_id=AppId.PTT_PRO,
                app_version="3.3.10197",
                android_version=13,
            ),
            "Pixel 7_a1b2c3",
        ),
        (
            "third-party, Zebra Voice 9.0.22308+: model without spaces + _TAI + Android ID",
            dict(
                kind=T,
                model="Galaxy S 23",
                android_id="f00d",
                app_id=AppId.VOICE,
                app_version="9.0.22308",
                android_version=13,
            ),
            "GalaxyS23_TAIf00d",
        ),
        (
            "vendor Android 13+, Zebra Voice 9.0.22405+, no serial: model + _ZAI + Android ID",
            dict(
                kind=V,
                model="TC53",
                android_id="beef",
                app_id=AppId.VOICE,
                app_version="9.0.22405",
                android_version=13,
            ),
            "TC53_ZAIbeef",
        ),
    ],
)
def test_device_id_rules(row, inputs, expected):
    assert device_id_build(**inputs) == expected, row


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        (dict(kind=V, model="", serial="1", app_id=AppId.VOICE), "model"),
        (
            dict(
                kind=V,
                model="TC52",
                app_id=AppId.VOICE,
                android_id="x",
                android_version=12,
                app_version="9.0.22405",
            ),
            "serial",
        ),
        (
            dict(
                kind=V,
                model="TC53",
                app_id=AppId.VOICE,
                android_id="x",
                android_version=13,
                app_version="9.0.22404",
            ),
            "serial",
        ),
        (dict(kind=IOS, model="iPhone", app_id=AppId.PTT_PRO_IOS), "ios_id"),
        (
            dict(
                kind=T, model="Pixel", android_id="x", app_id=AppId.VOICE, app_version="9.0.22307"
            ),
            "app_version",
        ),
        (
            dict(
                kind=T,
                model="Pixel",
                android_id="x",
                app_id=AppId.PTT_PRO,
                app_version="3.3.10196",
                android_version=11,
            ),
            "app_version",
        ),
        (
            dict(
                kind=T,
                model="Pixel",
                app_id=AppId.PTT_PRO,
                app_version="3.3.10197",
                android_version=11,
            ),
            "android_id",
        ),
        (dict(kind="toaster", model="X", app_id=AppId.VOICE), "kind"),
    ],
)
def test_device_id_refusals_name_the_field(inputs, field):
    with pytest.raises(ValidationError) as error:
        device_id_build(**inputs)
    assert field in error.value.message_dict


@pytest.mark.parametrize(
    ("app_id", "version", "applies"),
    [
        (AppId.PTT_PRO, "3.3.10197", True),
        (AppId.PTT_PRO, "3.3.10196", False),
        (AppId.PTT_PRO, "3.10.1", True),
        (AppId.PTT_PRO_IOS, "1.0.11086", True),
        (AppId.PTT_PRO_IOS, "1.0.11085", False),
        (AppId.VOICE, "9.9.99999", False),
        (AppId.PTT_PRO, "beta", False),
        (AppId.PTT_PRO, "", False),
    ],
)
def test_site_provisioning_needs_a_recent_ptt_pro(app_id, version, applies):
    assert site_provisioning_applies(app_id=app_id, app_version=version) is applies


def test_parse_version():
    assert parse_version("3.3.10197") == (3, 3, 10197)
    assert parse_version(" 9 ") == (9,)
    assert parse_version("3.3.x") is None
