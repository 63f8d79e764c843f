from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Customer, TenantQuerySet
from accounts.permissions import Area, can


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
    FILE = "FILE"


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
    UNKNOWN_MODEL = "UNKNOWN_MODEL"
    BOUND_ELSEWHERE = "BOUND_ELSEWHERE"
    HTTPS_REQUIRED = "HTTPS_REQUIRED"
    NO_SOFTWARE = "NO_SOFTWARE"


class History(models.Model):
    """One row per device request, good or bad. Unknown tokens have no customer.

    Millions of rows per customer: every sort and filter the History page and API offer
    has an index that starts (customer, column, created), so a page is an index range
    read whatever the depth (see reports.paging). The customer column has no index of its
    own: each of these begins with it. Searching (token or device ID contains) uses
    trigram indexes on PostgreSQL (migration 0007)."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, db_index=False
    )
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
        # All ascending, as the sort keys (column, created, id) are: one index serves a
        # sort in both directions, and filtering on the column with the newest first.
        indexes = [
            models.Index(fields=["customer", "created"], name="reports_hist_created"),
            # Also a device's own history on its detail page.
            models.Index(fields=["customer", "device_id", "created"], name="reports_hist_device"),
            models.Index(fields=["customer", "token", "created"], name="reports_hist_token"),
            models.Index(fields=["customer", "action", "created"], name="reports_hist_action"),
            models.Index(fields=["customer", "app_id", "created"], name="reports_hist_app"),
            models.Index(fields=["customer", "result", "created"], name="reports_hist_result"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.token} {self.device_id}: {self.result}"


class Severity(models.TextChoices):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class EventType(models.TextChoices):
    """Every kind of Event, in one place: each event_log() call names one of these.

    EVENT_AREAS below says which portal area each type is about. The Events page, its CSV
    and the events API show a type only to roles that may view its area (a User sees no
    license events, an Admin no portal-user changes); types about no particular area are
    shown to everyone who sees Events. A new type needs its member here and, when it is
    about an area, its entry in EVENT_AREAS."""

    # Portal users and access (users).
    USER_ADDED = "USER_ADDED", "Portal user added"
    USER_UPDATED = "USER_UPDATED", "Portal user changed"
    USER_ROLE_CHANGED = "USER_ROLE_CHANGED", "Portal user's role changed"
    USER_DELETED = "USER_DELETED", "Portal user deleted"
    PASSWORD_RESET_REQUESTED = "PASSWORD_RESET_REQUESTED", "Password reset requested"
    PASSWORD_RESET_COMPLETED = "PASSWORD_RESET_COMPLETED", "Password reset completed"
    # Support (staff) acting for the customer: shown to every role.
    STAFF_ACTING = "STAFF_ACTING", "Support acting for the customer"
    # Tokens and bootstraps.
    TOKEN_ADDED = "TOKEN_ADDED", "Token added"
    TOKEN_UPDATED = "TOKEN_UPDATED", "Token changed"
    TOKEN_DELETED = "TOKEN_DELETED", "Token deleted"
    CATALOG_IMPORTED = "CATALOG_IMPORTED", "Bootstraps and tokens imported"
    BOOTSTRAP_ADDED = "BOOTSTRAP_ADDED", "Bootstrap added"
    BOOTSTRAP_UPDATED = "BOOTSTRAP_UPDATED", "Bootstrap changed"
    BOOTSTRAP_DELETED = "BOOTSTRAP_DELETED", "Bootstrap deleted"
    # Devices and sites.
    DEVICE_ADDED_DIRECTLY = "DEVICE_ADDED_DIRECTLY", "Device added directly"
    DEVICE_UPDATED = "DEVICE_UPDATED", "Device changed"
    DEVICE_OBSOLETED = "DEVICE_OBSOLETED", "Device marked obsolete"
    SITE_SYNC = "SITE_SYNC", "Sites synced"
    SITE_SWEEP = "SITE_SWEEP", "Inactive devices removed from sites"
    SITE_PROVISIONING_FAILED = "SITE_PROVISIONING_FAILED", "Site provisioning failed"
    SITE_PROVISIONING_RETRY = "SITE_PROVISIONING_RETRY", "Site provisioning queued again"
    # Licenses (Super-Admins and staff only).
    NO_LICENSE_AVAILABLE = "NO_LICENSE_AVAILABLE", "No license available"
    LICENSE_RELEASE = "LICENSE_RELEASE", "Standard licenses released"
    DEVICE_LICENSES_RELEASED = "DEVICE_LICENSES_RELEASED", "Licenses of an obsolete device released"
    LICENSE_EXPIRY = "LICENSE_EXPIRY", "Entitlements expired"
    LICENSE_EXPIRY_NOTICE = "LICENSE_EXPIRY_NOTICE", "Entitlement expiry notice"
    LICENSE_SYNC_GET = "LICENSE_SYNC_GET", "Entitlement check"
    LICENSE_SYNC = "LICENSE_SYNC", "Entitlement sync"
    LICENSE_SYNC_REQUESTED = "LICENSE_SYNC_REQUESTED", "Entitlement sync requested"
    # Desk phones: categories, jobs, rollouts, automatic provisioning, codes.
    CATEGORY_ADDED = "CATEGORY_ADDED", "Category added"
    CATEGORY_UPDATED = "CATEGORY_UPDATED", "Category changed"
    CATEGORY_DELETED = "CATEGORY_DELETED", "Category deleted"
    SOFTWARE_JOB_ADDED = "SOFTWARE_JOB_ADDED", "Software job added"
    CONFIG_JOB_ADDED = "CONFIG_JOB_ADDED", "Config job added"
    JOB_DELETED = "JOB_DELETED", "Update job deleted"
    ROLLOUT_CREATED = "ROLLOUT_CREATED", "Rollout created"
    AUTO_PROVISIONING_TOKEN_SET = "AUTO_PROVISIONING_TOKEN_SET", "Automatic provisioning token set"
    AUTO_PROVISIONING_DISABLED = "AUTO_PROVISIONING_DISABLED", "Automatic provisioning disabled"
    CODE_ISSUED = "CODE_ISSUED", "Provisioning code issued"
    CODE_REVOKED = "CODE_REVOKED", "Provisioning code withdrawn"
    CODES_EXPIRED = "CODES_EXPIRED", "Expired provisioning codes deleted"
    PHONE_FILE_SECRET_ROTATED = "PHONE_FILE_SECRET_ROTATED", "Phone file URL changed"
    PHONE_LINE_SET = "PHONE_LINE_SET", "Phone line set"
    PHONE_LINE_DELETED = "PHONE_LINE_DELETED", "Phone line deleted"
    PHONE_BINDING_RELEASED = "PHONE_BINDING_RELEASED", "Phone binding released"
    PHONE_TEMPLATE_SAVED = "PHONE_TEMPLATE_SAVED", "Phone file template saved"
    PHONE_TEMPLATE_DELETED = "PHONE_TEMPLATE_DELETED", "Phone file template deleted"
    # Zero-touch provisioning: the ZTP card's actions and phone registrations, re-keying.
    ZTP_ONBOARD = "ZTP_ONBOARD", "ZTP onboard"
    ZTP_ROTATE = "ZTP_ROTATE", "ZTP provisioning URL rotated"
    ZTP_DISABLE = "ZTP_DISABLE", "ZTP disabled"
    ZTP_CHECK = "ZTP_CHECK", "ZTP checked"
    ZTP_REGISTER = "ZTP_REGISTER", "ZTP phone registered"
    ZTP_UNREGISTER = "ZTP_UNREGISTER", "ZTP phone unregistered"
    ZTP_LOOKUP = "ZTP_LOOKUP", "ZTP phone looked up"
    ZTP_IMPORT = "ZTP_IMPORT", "ZTP phones imported"
    ZTP_REKEY = "ZTP_REKEY", "ZTP credentials re-encrypted"
    ZTP_REPAIR = "ZTP_REPAIR", "ZTP provisioning URL registered again"
    ZTP_KEY = "ZTP_KEY", "ZTP API key changed"
    # Reports: retention and the dashboard's rollups.
    HISTORY_DELETED = "HISTORY_DELETED", "Old History deleted"
    ROLLUP_TOKENS = "ROLLUP_TOKENS", "Token requests counted for the dashboard"
    ROLLUP_LICENSES = "ROLLUP_LICENSES", "License numbers recorded for the dashboard"
    ROLLUP_REBUILD = "ROLLUP_REBUILD", "Dashboard rollups rebuilt"


def _area_of(types: str, area: str) -> dict[str, str]:
    return {name: area for name in types.split()}


# What each type is about, by portal area (accounts.permissions.Area). Types not listed
# are about no area in particular.
EVENT_AREAS: dict[str, str] = {
    **_area_of(
        "USER_ADDED USER_UPDATED USER_ROLE_CHANGED USER_DELETED PASSWORD_RESET_REQUESTED "
        "PASSWORD_RESET_COMPLETED",
        Area.USERS,
    ),
    **_area_of(
        "ZTP_ONBOARD ZTP_ROTATE ZTP_DISABLE ZTP_CHECK ZTP_REGISTER ZTP_UNREGISTER ZTP_LOOKUP "
        "ZTP_IMPORT ZTP_REKEY ZTP_REPAIR ZTP_KEY",
        Area.ZTP,
    ),
    **_area_of("TOKEN_ADDED TOKEN_UPDATED TOKEN_DELETED CATALOG_IMPORTED", Area.TOKENS),
    **_area_of("BOOTSTRAP_ADDED BOOTSTRAP_UPDATED BOOTSTRAP_DELETED", Area.BOOTSTRAPS),
    **_area_of("DEVICE_ADDED_DIRECTLY DEVICE_UPDATED DEVICE_OBSOLETED", Area.DEVICES),
    **_area_of("SITE_SYNC SITE_SWEEP SITE_PROVISIONING_FAILED SITE_PROVISIONING_RETRY", Area.SITES),
    **_area_of(
        "NO_LICENSE_AVAILABLE LICENSE_RELEASE DEVICE_LICENSES_RELEASED LICENSE_EXPIRY "
        "LICENSE_EXPIRY_NOTICE "
        "LICENSE_SYNC_GET LICENSE_SYNC LICENSE_SYNC_REQUESTED ROLLUP_LICENSES",
        Area.LICENSES,
    ),
    **_area_of(
        "CATEGORY_ADDED CATEGORY_UPDATED CATEGORY_DELETED SOFTWARE_JOB_ADDED CONFIG_JOB_ADDED "
        "JOB_DELETED ROLLOUT_CREATED AUTO_PROVISIONING_TOKEN_SET AUTO_PROVISIONING_DISABLED "
        "PHONE_FILE_SECRET_ROTATED PHONE_LINE_SET PHONE_LINE_DELETED PHONE_BINDING_RELEASED "
        "PHONE_TEMPLATE_SAVED PHONE_TEMPLATE_DELETED",
        Area.PROVISIONING,
    ),
    **_area_of("CODE_ISSUED CODE_REVOKED CODES_EXPIRED", Area.PHONES),
}


def event_area(type: str) -> str:
    """The portal area an event type is about; "" for none in particular."""
    return EVENT_AREAS.get(type, "")


def hidden_event_areas(user) -> list[str]:
    """The areas whose events `user` may not see: those their role may not view."""
    return sorted(area for area in set(EVENT_AREAS.values()) if not can(user, area))


class EventQuerySet(TenantQuerySet):
    def visible_to(self, user) -> EventQuerySet:
        """The events `user` may see: none about an area their role may not view (a User
        sees no license events). Every list of events (page, CSV, API) goes through here."""
        hidden = hidden_event_areas(user)
        return self.exclude(area__in=hidden) if hidden else self


class Event(models.Model):
    """The audit and system log: who changed what, and what background jobs did.

    `area` is what the event is about (EVENT_AREAS, from the type), stored so that the
    role rule is one indexed filter. Sorts and filters are indexed as History's are."""

    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, db_index=False
    )
    created = models.DateTimeField("timestamp", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Kept as text so the log still says who acted after the account is deleted.
    username = models.CharField("user", max_length=150, blank=True)
    type = models.CharField(max_length=40, choices=EventType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    area = models.CharField(max_length=20, blank=True, default="")
    info = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["customer", "created"], name="reports_event_created"),
            models.Index(fields=["customer", "type", "created"], name="reports_event_type"),
            models.Index(fields=["customer", "severity", "created"], name="reports_event_severity"),
            models.Index(fields=["customer", "username", "created"], name="reports_event_user"),
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.info}"

    def save(self, *args, **kwargs):
        # Rows written without event_log() (tests, the shell) still get their area.
        if not self.area:
            self.area = event_area(self.type)
        super().save(*args, **kwargs)


class EventActor(models.Model):
    """Who appears in a customer's Events: its portal users (added when they are) and the
    support users who acted for it. The Events page's user filter lists these rather than
    reading the distinct names of a log of millions of rows."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    username = models.CharField(max_length=150)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "username"], name="%(app_label)s_%(class)s_once"
            ),
        ]

    def __str__(self) -> str:
        return self.username


# --- Dashboard rollups ---------------------------------------------------------------
# The dashboard's graphs read these small daily tables, never History itself: History
# grows without bound, a rollup by a row per customer, day and series. reports.rollups
# keeps them; `manage.py rebuild_rollups` recomputes any range from the raw rows.


class TokenRequestRollup(models.Model):
    """Token requests (History rows of action TOKEN) of one customer on one day, by app.
    `app_id` is one of AppId, or "" for every value the product does not know."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    app_id = models.CharField("app", max_length=40, blank=True)
    requests = models.PositiveIntegerField(default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["day", "app_id"]
        constraints = [
            # Also the index of the dashboard's read: one customer, a range of days.
            models.UniqueConstraint(
                fields=["customer", "day", "app_id"], name="%(app_label)s_%(class)s_one_per_app"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.app_id or 'other'}: {self.requests}"


class LicenseRollup(models.Model):
    """A customer's license pool on one day: seats used (live assignments at the end of
    the day; now, for today) and seats in usable entitlements, by license type. licensing
    computes the numbers and stores them through reports.rollups.license_rollup_store."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    premium_used = models.PositiveIntegerField(default=0)
    premium_total = models.PositiveIntegerField(default=0)
    standard_used = models.PositiveIntegerField(default=0)
    standard_total = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField("computed at")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "day"], name="%(app_label)s_%(class)s_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: premium {self.premium_used}/{self.premium_total}, " + (
            f"standard {self.standard_used}/{self.standard_total}"
        )


class RollupWatermark(models.Model):
    """How far an incremental rollup has read its source: every source row with an id up
    to `last_id` is counted. One row per rollup; a run locks it, so two runs never count
    a row twice."""

    name = models.CharField(max_length=40, primary_key=True)
    last_id = models.BigIntegerField(default=0)
    updated = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_id}"
