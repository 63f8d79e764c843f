from __future__ import annotations

import re

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet
from reports.models import AppId, HistoryResult

models.CharField.register_lookup(Lower)  # value__lower=…: the case-insensitive token match

# The one rule for token values, used by the model, services, forms, API serializers, the
# importer and the device endpoints. Devices type or scan tokens: case does not matter.
TOKEN_MAX_LENGTH = 64
# For values people choose from now on; shorter ones made before keep working.
TOKEN_MIN_LENGTH = 6
TOKEN_CHARACTERS = "A-Za-z0-9-"
TOKEN_RULE = f"letters, digits and dashes (-), {TOKEN_MIN_LENGTH} to {TOKEN_MAX_LENGTH} characters"
# max_redemptions is a PositiveIntegerField; PostgreSQL's integer stops here.
MAX_REDEMPTIONS = 2_147_483_647
_TOKEN_VALUE = re.compile(f"[{TOKEN_CHARACTERS}]+")


def token_value_error(value: str) -> str | None:
    """Why `value` cannot be a token value, or None when it can."""
    if not value:
        return "a token needs a value"
    if len(value) > TOKEN_MAX_LENGTH:
        return f"at most {TOKEN_MAX_LENGTH} characters (this one has {len(value)})"
    if not _TOKEN_VALUE.fullmatch(value):
        return "only letters, digits and dashes (-) are allowed"
    return None


# Android intent schemes that hand a token to each app (iOS apps have none).
INTENT_SCHEMES = {
    AppId.VOICE: "wfcvp",
    AppId.PTT_PRO: "wfctp",
    AppId.PROFILE_CLIENT: "wfcpp",
    AppId.CENTRAL_SERVICE: "wfccs",
}


class Bootstrap(TenantModel):
    """A named JSON object of client parameters that devices download with a token."""

    name = models.CharField(max_length=128)
    parameters = models.JSONField(default=dict)
    # Bumped on every change; an update naming an older version is refused.
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- When a device may use a token ------------------------------------------------------
# One rule, in the three forms the code needs. A token is *live* when it is not revoked,
# not expired and its customer is active: a known device may ask for a license and check
# in with it. It is *redeemable* when it is live and has a redemption left: a device may
# get its bootstrap with it. TokenQuerySet.live()/redeemable() are the ORM form,
# TOKEN_LIVE_SQL/TOKEN_REDEMPTION_LEFT_SQL the SQL of the device endpoints' statements
# (gateway.services), token_refusal the Python form that says why not.
# tests/provisioning/test_token_rules.py runs every case through all three.

# {t}: the token table or its alias; parameters: False (revoked), now.
TOKEN_LIVE_SQL = "{t}.revoked = %s AND ({t}.expires_at IS NULL OR {t}.expires_at > %s)"
TOKEN_REDEMPTION_LEFT_SQL = (
    "({t}.max_redemptions IS NULL OR {t}.redemption_count < {t}.max_redemptions)"
)
# {c}: the customer table or its alias; parameter: True.
CUSTOMER_ACTIVE_SQL = "{c}.is_active = %s"


class TokenQuerySet(TenantQuerySet):
    def live(self, now) -> TokenQuerySet:
        return self.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            revoked=False,
            customer__is_active=True,
        )

    def redeemable(self, now) -> TokenQuerySet:
        return self.live(now).filter(
            Q(max_redemptions__isnull=True) | Q(redemption_count__lt=F("max_redemptions"))
        )


def token_refusal(
    *,
    revoked: bool,
    customer_active: bool,
    expires_at,
    now,
    used_up: bool = False,
) -> tuple[str, str] | None:
    """Why a device may not use a token, as (History result, detail), or None when it
    may: not live (revoked or its customer disabled, expired), or, for a redemption
    (`used_up` given), no redemption left."""
    if revoked or not customer_active:
        return HistoryResult.REVOKED, "token: revoked"
    if expires_at is not None and expires_at <= now:
        return HistoryResult.EXPIRED, "token: expired"
    if used_up:
        return HistoryResult.USED_UP, "token: already redeemed the allowed number of times"
    return None


class Token(TenantModel):
    """What a device presents (typed, scanned or sent by intent) to get its bootstrap."""

    value = models.CharField("token", max_length=TOKEN_MAX_LENGTH)
    app_id = models.CharField("app ID", max_length=40, choices=AppId.choices)
    bootstrap = models.ForeignKey(Bootstrap, on_delete=models.PROTECT, related_name="tokens")
    description = models.CharField(max_length=255, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    revoked = models.BooleanField(default=False)
    redemption_count = models.PositiveIntegerField(default=0)
    last_redeemed = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["value"]
        constraints = [
            # A device presents only the token, so it is unique across all customers,
            # ignoring case.
            models.UniqueConstraint(Lower("value"), name="%(app_label)s_%(class)s_unique_value"),
            # None allows any number; 0 would be a token no device can redeem that the
            # lists call usable.
            models.CheckConstraint(
                condition=models.Q(max_redemptions__isnull=True) | models.Q(max_redemptions__gte=1),
                name="%(app_label)s_%(class)s_max_redemptions_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.value

    @property
    def is_expired(self) -> bool:
        """Past its expiry: redemption answers 410 (the list marks it)."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_used_up(self) -> bool:
        """Redeemed as often as allowed: a new device gets 410 (the list marks it)."""
        # The negation of TOKEN_REDEMPTION_LEFT_SQL.
        return self.max_redemptions is not None and self.redemption_count >= self.max_redemptions

    @property
    def intent_url(self) -> str:
        scheme = INTENT_SCHEMES.get(self.app_id)
        return f"{scheme}://{self.value}" if scheme else ""

    @property
    def adb_command(self) -> str:
        url = self.intent_url
        return f'adb shell am start -a android.intent.action.VIEW -d "{url}"' if url else ""


# --- Provisioning codes, categories, rollouts and update jobs --------------------------
