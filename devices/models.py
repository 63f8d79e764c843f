from django.db import models

from accounts.models import TenantModel


class Device(TenantModel):
    """A device known to a customer: created or refreshed each time it redeems a token."""

    device_id = models.CharField("device ID", max_length=128)
    model = models.CharField(max_length=64, blank=True)
    os = models.CharField("OS", max_length=128, blank=True)
    app_id = models.CharField("app", max_length=40, blank=True)
    app_version = models.CharField(max_length=64, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "device_id"], name="%(app_label)s_%(class)s_unique_device_id"
            ),
        ]

    def __str__(self) -> str:
        return self.device_id
