"""The guide's "Device IDs" table: the kind a redeeming device gets, and the IDs direct
add accepts for each kind."""

import pytest

from devices.models import DeviceKind
from devices.services import device_id_problem, device_kind_guess, parse_version
from devices.sites import site_provisioning_applies
from reports.models import AppId

V, T, IOS = DeviceKind.VENDOR, DeviceKind.THIRD_PARTY_ANDROID, DeviceKind.IOS


@pytest.mark.parametrize(
    ("row", "device_id", "app_id", "kind"),
    [
        ("vendor Android, any app: model + _ + serial", "TC52_18304522512397", AppId.VOICE, V),
        ("vendor Android, PTT Pro", "TC21_201335230D5089", AppId.PTT_PRO, V),
        (
            "vendor Android 13+, Zebra Voice 9.0.22405+: model + _ZAI + ID",
            "TC53_ZAIbeef",
            AppId.VOICE,
            V,
        ),
        ("iOS, PTT Pro: model + _ + iOS ID", "iPhone14,2_6F1C2A", AppId.PTT_PRO_IOS, IOS),
        (
            "third-party, Zebra Voice 9.0.22308+: model + _TAI + Android ID",
            "GalaxyS23_TAIf00d",
            AppId.VOICE,
            T,
        ),
        # A third-party serial or Android ID cannot be told from a vendor serial.
        (
            "third-party, PTT Pro, Android 10+: model + _ + Android ID",
            "Pixel 7_a1b2c3",
            AppId.PTT_PRO,
            V,
        ),
    ],
)
def test_redemption_derives_the_kind_from_the_guide_rules(row, device_id, app_id, kind):
    assert device_kind_guess(device_id=device_id, app_id=app_id) == kind, row


@pytest.mark.parametrize(
    ("kind", "device_id"),
    [
        (V, "TC52_18304522512397"),
        (V, "TC53_ZAIbeef"),
        (IOS, "iPhone14,2_6F1C2A"),
        (T, "GalaxyS23_TAIf00d"),
        (T, "Pixel 3_8AQX1"),  # before Android 10: model (spaces kept) + _ + serial
        (T, "Pixel 7_a1b2c3"),
    ],
)
def test_direct_add_accepts_every_form_of_the_guide(kind, device_id):
    assert device_id_problem(kind=kind, device_id=device_id) is None


@pytest.mark.parametrize(
    ("kind", "device_id", "problem"),
    [
        (V, "18304522512397", "the model, an underscore"),
        (V, "_18304522512397", "the model, an underscore"),
        (V, "TC52_", "the model, an underscore"),
        (V, "TC52_1830 4522", "no spaces after the model"),
        (V, "TC 52_1830", "no spaces"),
        (V, "GalaxyS23_TAIf00d", "third-party Android"),
        (IOS, "iPhone_TAIf00d", "third-party Android"),
        (T, "TC53_ZAIbeef", "vendor device"),
        (T, "Galaxy S23_TAIf00d", "not in _TAI IDs"),
        (V, "TC52_1\x00", "control characters"),
        (V, "M_" + "1" * 127, "1 to 128 characters"),
    ],
)
def test_direct_add_refuses_ids_the_kind_cannot_report(kind, device_id, problem):
    assert problem in device_id_problem(kind=kind, device_id=device_id)


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
