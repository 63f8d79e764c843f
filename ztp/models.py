"""Zero-touch provisioning: each customer's wiring to the phone vendors' redirection services.

`ZtpAccount` is one customer and one vendor: the vendor-side company, the customer's own
API key at the vendor and the URL registered there (encrypted together in `secrets`, see
core.crypto), the status the card shows and the lease that keeps two actions on the same
customer and vendor from running at once. `ZtpPhone` is a MAC we registered with the vendor.
"""

from __future__ import annotations

from django.db import models

from accounts.models import TenantModel


class Vendor(models.TextChoices):
    """The redirection services we talk to (ztp.adapters has an adapter for each)."""

    SNOM = "snom", "Snom (SRAPS)"
    GIGASET = "gigaset", "Gigaset (GRAPE)"
    YEALINK = "yealink", "Yealink (YMCS RPS)"


class Status(models.TextChoices):
    NOT_CONFIGURED = "not_configured", "Not configured"
    CONFIGURED = "configured", "Configured"
    ERROR = "error", "Error"


class Action(models.TextChoices):
    """What the card, the phone list and `manage.py ztp` do; also the lease's holder."""

    ONBOARD = "onboard", "Onboard"
    ROTATE = "rotate", "Rotate"
    DISABLE = "disable", "Disable"
    CHECK = "check", "Check now"
    REPAIR = "repair", "Repair"
    KEY = "key", "Change API key"
    REGISTER = "register", "Register phone"
    UNREGISTER = "unregister", "Unregister phone"
    LOOKUP = "lookup", "Look up phone"
    IMPORT = "import", "Import phones"


class ZtpAccount(TenantModel):
    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_CONFIGURED)
    # The customer's company at the vendor, as its API key says; shown on the card.
    company_id = models.CharField("company identifier", max_length=128, blank=True)
    # A Fernet token (core.crypto) of the customer's API key at the vendor and the URL
    # registered there; empty when not configured.
    secrets = models.TextField(blank=True, editable=False)
    # The API key's ID (never its secret), shown on the card.
    key_id = models.CharField("API key ID", max_length=200, blank=True)
    credentials_set_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the status was last established."
    )
    last_error = models.TextField(blank=True)
    # What the last check found at the vendor that is not what we registered (another
    # URL, or none), with the secret of a phone file URL hidden; empty when all is ours.
    drift = models.CharField(max_length=500, blank=True)
    last_action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    last_action_at = models.DateTimeField(null=True, blank=True)
    # The lease (ztp.services): set by a conditional UPDATE when the action starts and
    # cleared when it ends, so no database lock is held while the vendor is called.
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    action_started_at = models.DateTimeField(null=True, blank=True)
    lease = models.CharField(max_length=32, blank=True, editable=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer", "vendor"]
        verbose_name = "ZTP account"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "vendor"], name="%(app_label)s_%(class)s_one_per_vendor"
            ),
            # A company at a vendor is one customer's (each would see the other's phones):
            # two onboardings at once cannot both keep it.
            models.UniqueConstraint(
                fields=["vendor", "company_id"],
                condition=~models.Q(company_id=""),
                name="%(app_label)s_%(class)s_one_customer_per_company",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.vendor}: {self.status}"

    @property
    def is_configured(self) -> bool:
        return bool(self.secrets)


class ZtpPhone(TenantModel):
    """A phone's MAC registered with a vendor for the customer (what the phone list shows)."""

    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    mac = models.CharField("MAC address", max_length=12)  # 0004132A3B4C
    registered_at = models.DateTimeField()
    registered_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["mac", "pk"]
        verbose_name = "ZTP phone"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "vendor", "mac"], name="%(app_label)s_%(class)s_one_per_mac"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.mac}"

    @property
    def mac_display(self) -> str:
        return ":".join(self.mac[i : i + 2] for i in range(0, 12, 2))
