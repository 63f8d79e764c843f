from django.db import models

from accounts.models import TenantModel


class Site(TenantModel):
    """A PTT Pro site (a department on the customer's PTT Pro server)."""

    name = models.CharField(max_length=128)
    server_name = models.CharField("PTT Pro server name", max_length=64)
    synced_at = models.DateTimeField(null=True, blank=True)
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


class DeviceState(models.TextChoices):
    ACTIVE = "active", "Active"
    OBSOLETE = "obsolete", "Obsolete"


class DeviceKind(models.TextChoices):
    VENDOR = "vendor", "Vendor device"
    THIRD_PARTY_ANDROID = "third_party_android", "Third-party Android"
    IOS = "ios", "iOS"
    # Provisioned by code or automatic provisioning; its device ID is its MAC address.
    DESK_PHONE = "desk_phone", "Desk phone"


class SiteStatus(models.TextChoices):
    """Where the device stands with its site's device table on the PTT Pro server."""

    NONE = "", "—"
    PENDING = "pending", "Pending"
    PROVISIONED = "provisioned", "Provisioned"
    CONFLICT = "conflict", "Conflict"
    FAILED = "failed", "Failed"


class Device(TenantModel):
    """A device known to a customer: created or refreshed each time it redeems a token,
    or added directly."""

    device_id = models.CharField("device ID", max_length=128)
    state = models.CharField(max_length=10, choices=DeviceState.choices, default=DeviceState.ACTIVE)
    kind = models.CharField(max_length=20, choices=DeviceKind.choices, blank=True)
    model = models.CharField(max_length=64, blank=True)
    os = models.CharField("OS", max_length=128, blank=True)
    app_id = models.CharField("app", max_length=40, blank=True)
    app_version = models.CharField(max_length=64, blank=True)
    last_checkin = models.DateTimeField("last check-in", null=True, blank=True)
    # The group a provisioning code puts the device in (its jobs follow the category).
    category = models.CharField(max_length=64, blank=True)

    # What a desk phone reports when it redeems a provisioning code or registers itself.
    mac = models.CharField("MAC address", max_length=17, blank=True)
    firmware = models.CharField(max_length=64, blank=True)
    bootcode = models.CharField(max_length=64, blank=True)
    local_ip = models.GenericIPAddressField("local IP", null=True, blank=True)
    entered_code = models.CharField("provisioning code entered", max_length=12, blank=True)
    first_connect = models.DateTimeField("first connected", null=True, blank=True)

    # Automatic site provisioning. `site` is where the device belongs (the last site
    # token it redeemed); `provisioned_site` is where the PTT Pro server has our row.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    site_assigned_at = models.DateTimeField("assigned on", null=True, blank=True)
    provisioned_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    site_status = models.CharField(max_length=12, choices=SiteStatus.choices, blank=True)
    site_error = models.CharField(max_length=500, blank=True)
    # The server's row was entered by hand: it is never moved or removed by us.
    site_row_manual = models.BooleanField(default=False)
    # A pending device's next provisioning attempt is due by then (set when its task is
    # queued or schedules a retry, plus a margin); the retry sweep queues the device again
    # only once it has passed. Each request writes a new value, so a provisioning run also
    # reads it as the version of the request it answers.
    site_retry_at = models.DateTimeField("next site attempt", null=True, blank=True)

    # Direct add (devices that cannot redeem a token themselves).
    added_directly = models.BooleanField(default=False)
    phone_number = models.CharField(max_length=32, blank=True)
    password = models.CharField(max_length=128, blank=True)  # hashed, Django's format
    version = models.PositiveIntegerField(default=1)

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "device_id"], name="%(app_label)s_%(class)s_unique_device_id"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-updated", "id"], name="devices_device_cust_updated"),
            models.Index(fields=["customer", "site", "device_id"], name="devices_device_cust_site"),
            models.Index(fields=["site_status", "last_checkin"], name="devices_device_site_sweep"),
        ]

    def __str__(self) -> str:
        return self.device_id
