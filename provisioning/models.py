from __future__ import annotations

import re

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet
from accounts.permissions import Action, Area, can
from reports.models import AppId

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
        # As the redemption's SQL: max_redemptions IS NULL OR redemption_count < it.
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
# Desk phones are provisioned by category: a one-time code (or the customer's automatic
# provisioning token) puts a phone in a category, and the category decides what it gets:
# its bootstrap and the latest update jobs for it.

CODE_DIGITS = 12


class Category(TenantModel):
    """A group of devices. A provisioning category can be chosen for new phones; every
    category can be the target of update jobs."""

    name = models.CharField(max_length=64)
    is_provisioning = models.BooleanField(
        "provisioning category",
        default=True,
        help_text="Offered when a phone is added, in rollouts and for automatic provisioning.",
    )
    bootstrap = models.ForeignKey(
        Bootstrap,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="categories",
        help_text="The configuration phones of this category receive.",
    )
    description = models.CharField(max_length=255, blank=True)
    version = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Rollout(TenantModel):
    """Codes issued at once for many portal users (Register phones)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="rollouts")
    app_id = models.CharField("phone app", max_length=40, choices=AppId.choices, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Rollout {self.pk} ({self.category})"


class CodeState(models.TextChoices):
    PENDING = "pending", "Pending"
    REGISTERED = "registered", "Registered"
    EXPIRED = "expired", "Expired"


class ProvisioningCodeQuerySet(TenantQuerySet):
    def followed_by(self, user) -> ProvisioningCodeQuerySet:
        """The codes `user` may read, the one rule of the portal and the API: those who
        may change provisioning (Admins, Super-Admins, staff) follow every code of the
        customer; anyone else only the codes issued for them. A pending code is a
        credential: whoever reads it can register a phone with it."""
        if can(user, Area.PROVISIONING, Action.CHANGE):
            return self
        return self.filter(user=user)


class ProvisioningCode(TenantModel):
    """A one-time code a person types on a new phone: 12 random digits, valid for minutes
    (a user adding a phone) or days (a rollout). Used codes are kept as the record of who
    registered which phone; expired unused ones are deleted by a beat job."""

    code = models.CharField(max_length=CODE_DIGITS)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="codes")
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollout = models.ForeignKey(
        Rollout, null=True, blank=True, on_delete=models.CASCADE, related_name="codes"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    objects = ProvisioningCodeQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # A phone sends only the code, so an unused one must be unique everywhere.
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(used_at__isnull=True),
                name="%(app_label)s_%(class)s_unique_unused",
            ),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="provisioning_code_expiry"),
            models.Index(fields=["rollout", "id"], name="provisioning_code_rollout"),
        ]

    def __str__(self) -> str:
        return f"{self.code[:4]}…"

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return CodeState.REGISTERED
        if self.expires_at <= timezone.now():
            return CodeState.EXPIRED
        return CodeState.PENDING

    def get_state_display(self) -> str:
        return CodeState(self.state).label


class SoftwareJob(TenantModel):
    """Update the software of a category's phones: the firmware description as it was
    when the job was made. A phone gets the latest job of its category."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="software_jobs")
    firmware = models.JSONField(help_text="The firmware description, e.g. version and URL.")
    description = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["category", "-created", "-id"], name="provisioning_swjob_latest")
        ]

    def __str__(self) -> str:
        return f"Software job {self.pk}"


class ConfigJob(TenantModel):
    """Change one kind of configuration of a category's phones. A phone gets the latest
    job of every config type of its category."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="config_jobs")
    config_type = models.CharField(max_length=64)
    parameters = models.JSONField(default=dict)
    description = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(
                fields=["category", "config_type", "-created", "-id"],
                name="provisioning_cfgjob_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.config_type} job {self.pk}"


class JobDelivery(TenantModel):
    """A job a device received, when it registered or redeemed a code."""

    device = models.ForeignKey(
        "devices.Device", on_delete=models.CASCADE, related_name="job_deliveries"
    )
    software_job = models.ForeignKey(
        SoftwareJob, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    config_job = models.ForeignKey(
        ConfigJob, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    delivered_at = models.DateTimeField()

    class Meta:
        ordering = ["-delivered_at", "-id"]
        indexes = [
            models.Index(fields=["device", "-delivered_at"], name="provisioning_jobs_device")
        ]


class AutoProvisioning(TenantModel):
    """A customer's automatic provisioning: phones that present its security token
    register themselves. Only a hash of the token is kept; it is shown once."""

    enabled = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=128, blank=True)
    token_hint = models.CharField(
        max_length=8, blank=True, help_text="The token's last characters, to recognise it."
    )
    token_set_at = models.DateTimeField(null=True, blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="%(app_label)s_%(class)s_one"),
        ]


class AutoProvisioningKey(TenantModel):
    """A further token a system holds for the customer's automatic provisioning, beside
    the one people are shown: e.g. the one in the URL a vendor's redirection service
    sends the customer's phones to (ztp). Each can be revoked on its own; all stop working
    when automatic provisioning is disabled."""

    purpose = models.CharField(max_length=64)
    token_hash = models.CharField(max_length=128)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "purpose"], name="%(app_label)s_%(class)s_one_per_purpose"
            ),
        ]
        indexes = [models.Index(fields=["token_hash"], name="provisioning_autokey_hash")]


class KnownNetwork(TenantModel):
    """A network the customer's phones or people have been seen on: where a phone got in
    with a code or the automatic provisioning token, or from where someone issued a code.
    A code presented from a known network is looked up among that customer's codes, with
    a guessing budget of its own (provisioning.phones.code_redeem), so a guesser elsewhere
    cannot lock the customer's phones out."""

    network = models.CharField(max_length=49)  # "203.0.113.0/24", "2001:db8:1:200::/56"
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "network"], name="%(app_label)s_%(class)s_unique"
            ),
        ]
        indexes = [models.Index(fields=["network", "last_seen"], name="provisioning_net_seen")]

    def __str__(self) -> str:
        return self.network
