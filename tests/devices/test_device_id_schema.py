"""The device-ID patterns the API schema gives for mergeProvider say what
devices.services.device_id_problem says, for every kind."""

import random
import re

import pytest

from devices.api.serializers import DEVICE_ID_MAX_LENGTH, DEVICE_ID_PATTERNS
from devices.models import DeviceKind
from devices.services import device_id_problem

# The characters the rule looks at, and a few it does not.
ALPHABET = ["T", "A", "I", "Z", "_", " ", "\t", "\x00", "\x7f", "\x85", "5", "c", "é", "-", "F"]
SAMPLES = [
    "TC52_18304522512397",
    "TC52_ZAI0a1b2c3",
    "Pixel 7_TAI9f8e",
    "Pixel7_TAI9f8e",
    "Pixel 7_9f8e",
    "Pixel 7_ZAI9f8e",
    "iPhone14_00008110-001A",
    "TC52_",
    "_123",
    "TC52 _123",
    " _123",
    "TC52_12 3",
    "TC52_TA",
    "TC52_TAIX",
    "TC52_ZA",
    "a__b",
    "x" * DEVICE_ID_MAX_LENGTH,
    "0090331A2B3C",
    "0090331a2b3c",
    "00:90:33:1A:2B:3C",
]


def _random_ids(count: int) -> list[str]:
    rng = random.Random(20251130)
    ids = ["".join(rng.choices(ALPHABET, k=rng.randint(1, 9))) for _ in range(count)]
    return ids + ["".join(rng.choices("0123456789ABCDEFa:", k=12)) for _ in range(count // 10)]


@pytest.mark.parametrize("kind", DeviceKind.values)
def test_each_kinds_pattern_agrees_with_the_rule(kind):
    pattern = re.compile(DEVICE_ID_PATTERNS[kind])
    for device_id in SAMPLES + _random_ids(5000):
        by_rule = device_id_problem(kind=kind, device_id=device_id) is None
        by_schema = pattern.fullmatch(device_id) is not None and len(device_id) <= 128
        assert by_schema == by_rule, (kind, device_id)
