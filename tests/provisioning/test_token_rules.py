"""The token rules agree wherever they are written (provisioning.models, "When a device
may use a token"): the SQL of the device endpoints' statements (redemption, check-in), the
ORM querysets (Token.objects.live(), .redeemable()), the Python refusal (token_refusal)
and the flag the token lists show (Token.is_used_up). Every combination of the fields the
rules read goes through all of them, and between them they answer every refusal a token
can get. On SQLite and on PostgreSQL, whose redemption and check-in are single
data-modifying statements of their own."""

import itertools
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from devices.models import Device
from gateway.services.licenses import device_checkin, license_request
from gateway.services.redemption import token_redeem
from provisioning.models import Token, token_refusal
from provisioning.services.bootstraps import bootstrap_save
from provisioning.services.tokens import token_save
from reports.models import AppId, HistoryResult

DAY = timedelta(days=1)


@pytest.fixture
def token(customer, admin):
    bootstrap_save(customer=customer, user=admin, name="B", parameters={"a": 1})
    saved, _ = token_save(
        customer=customer, user=admin, value="rule-token", app_id=AppId.PTT_PRO, bootstrap="B"
    )
    return saved


@pytest.mark.parametrize(
    ("max_redemptions", "count"), [(None, 0), (None, 99), (1, 0), (1, 1), (3, 2), (3, 3), (3, 7)]
)
def test_the_used_up_flag_agrees_with_the_device_answer(token, max_redemptions, count):
    Token.objects.filter(pk=token.pk).update(
        max_redemptions=max_redemptions, redemption_count=count
    )
    token.refresh_from_db()
    flagged = token.is_used_up
    outcome = token_redeem(token="rule-token", device_id="D-1", app_id=AppId.PTT_PRO)
    assert flagged == (outcome.result == HistoryResult.USED_UP), (max_redemptions, count)
    assert outcome.ok == (not flagged)


def test_a_token_cannot_allow_zero_redemptions(token):
    with pytest.raises(IntegrityError), transaction.atomic():
        Token.objects.filter(pk=token.pk).update(max_redemptions=0)


# (max_redemptions, redemption_count): any number, some left, none left.
REDEMPTIONS = [(None, 0), (None, 99), (1, 0), (1, 1), (3, 2), (3, 3)]
CASES = list(
    itertools.product(
        [False, True],  # revoked
        [True, False],  # customer active
        [None, -DAY, DAY],  # expires (from now)
        REDEMPTIONS,
        [AppId.PTT_PRO, AppId.VOICE],  # the app that presents it (the token is PTT Pro's)
    )
)


def test_every_token_case_gets_the_same_answer_from_sql_orm_and_python(
    customer, other_customer, admin
):
    other_customer.is_active = False
    other_customer.save(update_fields=["is_active"])
    for owner in (customer, other_customer):
        bootstrap_save(customer=owner, user=None, name="B", parameters={"a": 1})
    now = timezone.now()
    seen = set()
    for number, (revoked, active, expires, (allowed, count), app_id) in enumerate(CASES):
        owner = customer if active else other_customer
        value, device_id = f"case-token-{number:03d}", f"case-device-{number:03d}"
        token, _ = token_save(
            customer=owner, user=None, value=value, app_id=AppId.PTT_PRO, bootstrap="B"
        )
        Token.objects.filter(pk=token.pk).update(
            revoked=revoked,
            expires_at=None if expires is None else now + expires,
            max_redemptions=allowed,
            redemption_count=count,
        )
        token.refresh_from_db()
        Device.objects.create(customer=owner, device_id=device_id, app_id=AppId.PTT_PRO)
        case = (revoked, active, expires, allowed, count, app_id)

        fields = {
            "revoked": token.revoked,
            "customer_active": active,
            "expires_at": token.expires_at,
            "now": now,
        }
        live = token_refusal(**fields)
        redeemable = token_refusal(**fields, used_up=token.is_used_up)
        redeem_expected = redeemable or (
            (HistoryResult.APP_MISMATCH, "") if app_id != token.app_id else None
        )

        # The ORM form.
        assert Token.objects.live(now).filter(pk=token.pk).exists() == (live is None), case
        assert Token.objects.redeemable(now).filter(pk=token.pk).exists() == (redeemable is None), (
            case
        )

        # The SQL of check-in, and the license lookup (a token the rules let through
        # finds no license here: the customer has none).
        checkin = device_checkin(token=value, device_id=device_id)
        assert checkin.result == (live[0] if live else HistoryResult.OK), case
        granted = license_request(token=value, device_id=device_id, feature="CUCM")
        assert granted.result == (live[0] if live else HistoryResult.NO_LICENSE), case
        if live is None:
            # A live token and a device the customer does not have.
            unknown = device_checkin(token=value, device_id=f"{device_id}-unknown")
            assert unknown.result == HistoryResult.UNKNOWN_DEVICE, case
            seen.add(unknown.result)

        # The SQL of redemption, last: it counts the token.
        redeemed = token_redeem(token=value, device_id=device_id, app_id=app_id)
        assert redeemed.result == (redeem_expected[0] if redeem_expected else HistoryResult.OK), (
            case
        )
        seen.update({checkin.result, granted.result, redeemed.result})

    nobody = "case-token-nobody"
    for answer in (
        token_redeem(token=nobody, device_id="D", app_id=AppId.PTT_PRO),
        device_checkin(token=nobody, device_id="D"),
        license_request(token=nobody, device_id="D", feature="CUCM"),
    ):
        assert answer.result == HistoryResult.UNKNOWN_TOKEN
        seen.add(answer.result)

    assert seen >= {
        HistoryResult.OK,
        HistoryResult.UNKNOWN_TOKEN,
        HistoryResult.REVOKED,
        HistoryResult.EXPIRED,
        HistoryResult.USED_UP,
        HistoryResult.APP_MISMATCH,
        HistoryResult.UNKNOWN_DEVICE,
    }
