"""One "used up" rule: the flag the token lists show (Token.is_used_up) agrees with
what a device is answered, on every count, and a token cannot allow 0 redemptions."""

import pytest
from django.db import IntegrityError, transaction

from gateway.services.redemption import token_redeem
from provisioning.models import Token
from provisioning.services import bootstrap_save, token_save
from reports.models import AppId, HistoryResult


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
