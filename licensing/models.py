from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet


class LicenseType(models.TextChoices):
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"


class EntitlementState(models.TextChoices):
    ACTIVE = "active", "Active"
    # Expired, removed from the account on the back end, or otherwise invalid.
    EXPIRED = "expired", "Expired"


class Feature(models.TextChoices):
    """The PBX a Voice client is configured for; it decides the license type. Every name
    the guide uses, plus the spellings clients sent before (aliases). An assignment keeps
    the name the device sent."""

    ALCATEL = "Alcatel", "Alcatel"
    ASTERISK = "Asterisk", "Asterisk"
    BASIC_CUCM = "Basic CUCM", "Basic CUCM"
    CME = "CME", "CME"
    CUCM = "CUCM", "CUCM"
    GENERIC_PBX = "Generic PBX", "Generic PBX"
    IP_OFFICE = "IP Office", "IP Office"
    LOCAL = "Local", "Local"
    MITEL = "Mitel", "Mitel"
    RAULAND = "Rauland", "Rauland"
    AURA_PREMIUM = "Aura Premium", "Aura Premium"
    CISCO_PREMIUM = "Cisco Premium", "Cisco Premium"
    CME_PREMIUM = "CME Premium", "CME Premium"
    CUCM_PREMIUM = "CUCM Premium", "CUCM Premium"
    # Aliases.
    LOCAL_USE_STANDARD = "Local use Standard", "Local use Standard"


PREMIUM_FEATURES = frozenset(
    {Feature.AURA_PREMIUM, Feature.CISCO_PREMIUM, Feature.CME_PREMIUM, Feature.CUCM_PREMIUM}
)


def license_type_for(feature: str) -> str:
    return LicenseType.PREMIUM if feature in PREMIUM_FEATURES else LicenseType.STANDARD


# --- When a license line is usable ------------------------------------------------------
# One rule, in the forms the code needs: a line is usable while the back end reports it
# (state active) and it has not expired; seats are taken from usable lines only and only
# they count toward the pool. usable_lines() is the ORM condition, ENTITLEMENT_USABLE_SQL
# the seat statement's (licensing.services), entitlement_usable the Python form.
# tests/licensing/test_entitlement_rules.py runs every case through all three.

# {e}: the entitlement table or its alias; parameters: "active", now.
ENTITLEMENT_USABLE_SQL = "{e}.state = %s AND {e}.expiration > %s"


def usable_lines(now) -> Q:
    return Q(state=EntitlementState.ACTIVE, expiration__gt=now)


def entitlement_usable(*, state: str, expiration, now) -> bool:
    return state == EntitlementState.ACTIVE and expiration > now


class EntitlementQuerySet(TenantQuerySet):
    def usable(self, now) -> "EntitlementQuerySet":
        return self.filter(usable_lines(now))


class Entitlement(TenantModel):
    """A license line of a customer, synced from the entitlement back end."""

    activation_id = models.CharField("activation ID", max_length=64, unique=True)
    license_type = models.CharField(max_length=10, choices=LicenseType.choices)
    term = models.CharField(max_length=64, blank=True)
    total = models.PositiveIntegerField("total purchased")
    # Live licenses of this line, changed in the same transaction as each assignment and
    # release (licensing.services), so taking a seat never counts rows.
    used = models.PositiveIntegerField(default=0)
    expiration = models.DateTimeField()
    state = models.CharField(
        max_length=10, choices=EntitlementState.choices, default=EntitlementState.ACTIVE
    )
    verified_at = models.DateTimeField("last verified", null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        ordering = ["expiration", "pk"]
        indexes = [
            models.Index(
                fields=["customer", "license_type", "state", "-expiration"],
                name="licensing_ent_pick",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_license_type_display()} {self.masked_activation_id}"

    @property
    def current_state(self) -> str:
        """Expired from the moment the expiration passes, before the daily job records it."""
        now = timezone.now()
        if self.state == EntitlementState.ACTIVE and not entitlement_usable(
            state=self.state, expiration=self.expiration, now=now
        ):
            return EntitlementState.EXPIRED
        return self.state

    def get_current_state_display(self) -> str:
        return EntitlementState(self.current_state).label

    @property
    def masked_activation_id(self) -> str:
        """Enough of the activation ID to tell lines apart, not enough to reuse it."""
        return f"***{self.activation_id[-9:]}"


class Assignment(TenantModel):
    """A license of an entitlement held by a device. Released rows are kept as history."""

    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, related_name="assignments"
    )
    device = models.ForeignKey(
        "devices.Device", on_delete=models.CASCADE, related_name="assignments"
    )
    # Copied from the entitlement so the database can hold "one live license per device
    # and type" as a constraint.
    license_type = models.CharField(max_length=10, choices=LicenseType.choices)
    feature = models.CharField(max_length=32, choices=Feature.choices)
    app_version = models.CharField(max_length=16, blank=True)
    last_contact = models.DateTimeField()
    created = models.DateTimeField("first assigned", auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_contact", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "license_type"],
                condition=Q(released_at__isnull=True),
                name="%(app_label)s_%(class)s_one_live_per_device_and_type",
            ),
        ]
        indexes = [
            models.Index(
                fields=["entitlement"],
                condition=Q(released_at__isnull=True),
                name="licensing_asg_live_by_ent",
            ),
            # The Assigned page's default order.
            models.Index(
                fields=["customer", "-last_contact", "-id"], name="licensing_asg_cust_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.feature}"

    @property
    def assigned(self) -> bool:
        return self.released_at is None


class ExpiryNotice(models.Model):
    """One row per entitlement and notice step, so a notice is never sent twice."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="notices")
    days_before = models.PositiveSmallIntegerField()  # 30, 7, 1, or 0 (on expiry)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entitlement", "days_before"], name="%(app_label)s_%(class)s_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entitlement} notice {self.days_before} days before"
