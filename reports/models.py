from django.conf import settings
from django.db import models

from accounts.models import Customer, TenantQuerySet


class AppId(models.TextChoices):
    """Client app IDs: a wire contract with the apps and existing scripts."""

    VOICE = "WFC_VOICE_ANDROID", "Zebra Voice (Android)"
    CENTRAL_SERVICE = "WFC_CENTRAL_SERVICE_ANDROID", "Zebra Central Service (Android)"
    PTT_PRO = "WFC_PRO_ANDROID", "PTT Pro (Android)"
    PROFILE_CLIENT = "WFC_PC_ANDROID", "Profile Client (Android)"
    PTT_PRO_IOS = "WFC_PRO_IOS", "PTT Pro (iOS)"


class HistoryAction(models.TextChoices):
    TOKEN = "TOKEN"
    LICENSE = "LICENSE"
    CHECKIN = "CHECKIN"
    CODE = "CODE"
    AUTO = "AUTO"


class HistoryResult(models.TextChoices):
    OK = "OK"
    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_TOKEN = "UNKNOWN_TOKEN"
    APP_MISMATCH = "APP_MISMATCH"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    USED_UP = "USED_UP"
    RATE_LIMITED = "RATE_LIMITED"
    UNKNOWN_DEVICE = "UNKNOWN_DEVICE"
    OBSOLETE_DEVICE = "OBSOLETE_DEVICE"
    UNKNOWN_CODE = "UNKNOWN_CODE"
    CODE_USED = "CODE_USED"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"
    NO_LICENSE = "NO_LICENSE"
    PREMIUM_REFUSED = "PREMIUM_REFUSED"


class History(models.Model):
    """One row per device request, good or bad. Unknown tokens have no customer."""

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    created = models.DateTimeField("timestamp", auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=HistoryAction.choices)
    token = models.CharField(max_length=64, blank=True)
    app_id = models.CharField("app", max_length=40, blank=True)
    device_id = models.CharField("device ID", max_length=128, blank=True)
    result = models.CharField(max_length=20, choices=HistoryResult.choices)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name_plural = "history"
        indexes = [
            models.Index(fields=["customer", "-created"], name="reports_history_cust_time"),
            # A device's own history on its detail page.
            models.Index(
                fields=["customer", "device_id", "-created"], name="reports_history_device"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.token} {self.device_id}: {self.result}"


class Severity(models.TextChoices):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Event(models.Model):
    """The audit and system log: who changed what, and what background jobs did."""

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE)
    created = models.DateTimeField("timestamp", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text so the log still says who acted after the account is deleted.
    username = models.CharField("user", max_length=150, blank=True)
    type = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    info = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["customer", "-created"], name="reports_event_cust_time")]

    def __str__(self) -> str:
        return f"{self.type}: {self.info}"
