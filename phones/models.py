"""Desk phones: categories, one-time provisioning codes, rollouts, update jobs and
automatic provisioning. The tables were made by the provisioning app and keep its names
(db_table, constraint and index names), so moving the models here changed no schema."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from accounts.models import TenantModel, TenantQuerySet
from accounts.permissions import Action, Area, can
from provisioning.models import Bootstrap
from reports.models import AppId

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
        db_table = "provisioning_category"
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"], name="provisioning_category_unique_name"
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
        db_table = "provisioning_rollout"
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
        db_table = "provisioning_provisioningcode"
        ordering = ["-created", "-id"]
        constraints = [
            # A phone sends only the code, so an unused one must be unique everywhere.
            models.UniqueConstraint(
                fields=["code"],
                condition=models.Q(used_at__isnull=True),
                name="provisioning_provisioningcode_unique_unused",
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
        db_table = "provisioning_softwarejob"
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
        db_table = "provisioning_configjob"
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
        db_table = "provisioning_jobdelivery"
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
        db_table = "provisioning_autoprovisioning"
        constraints = [
            models.UniqueConstraint(fields=["customer"], name="provisioning_autoprovisioning_one"),
        ]


class KnownNetwork(TenantModel):
    """A network the customer's phones or people have been seen on: where a phone got in
    with a code or the automatic provisioning token, or from where someone issued a code.
    A code presented from a known network is looked up among that customer's codes, with
    a guessing budget of its own (gateway.services.phones.code_redeem), so a guesser elsewhere
    cannot lock the customer's phones out."""

    network = models.CharField(max_length=49)  # "203.0.113.0/24", "2001:db8:1:200::/56"
    last_seen = models.DateTimeField()

    class Meta:
        db_table = "provisioning_knownnetwork"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "network"], name="provisioning_knownnetwork_unique"
            ),
        ]
        indexes = [models.Index(fields=["network", "last_seen"], name="provisioning_net_seen")]

    def __str__(self) -> str:
        return self.network


class FileSecret(TenantModel):
    """The secret in the path of a customer's phone file URL (`/phones/<secret>/…`). The
    secret is drawn from `SECRET_KEY` and the row's random salt (phones.files.secrets), so
    it can be shown again, and found by the SHA-256 `lookup` of what a phone sends. A
    rotation retires the current row at `retires_at` (phones in the field keep working
    until then) and makes a new one; a customer has one row that is not retiring."""

    salt = models.CharField(max_length=32)
    lookup = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    retires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(retires_at__isnull=True),
                name="phones_filesecret_one_current",
            ),
        ]


class PhoneLine(TenantModel):
    """A SIP account a desk phone registers: its position on the phone (1 is the first
    line key), the extension, the name shown, the authentication user and the password,
    kept encrypted (core.crypto) because the phone needs it back in its file. The
    password is shown once, when it is set."""

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    extension = models.CharField(max_length=64)
    display_name = models.CharField(max_length=64, blank=True)
    auth_user = models.CharField("authentication user", max_length=64, blank=True)
    password_sealed = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["device", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "position"], name="phones_phoneline_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(position__gte=1, position__lte=12),
                name="phones_phoneline_position_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.extension} (line {self.position})"


class PhoneBinding(TenantModel):
    """What a desk phone was when it first fetched its file: its MAC (the device), the
    vendor and model it said it was, the network it came from, and how it joined (a code,
    automatic provisioning, or the file URL itself). A later fetch for the same MAC that
    names another model or comes from another network is refused and recorded. Releasing
    the binding (portal, or a new code) lets the next fetch bind again."""

    device = models.OneToOneField(
        "devices.Device", on_delete=models.CASCADE, related_name="file_binding"
    )
    vendor = models.CharField(max_length=16)
    model = models.CharField(max_length=64, blank=True)
    network = models.CharField(max_length=49)
    joined_by = models.CharField(max_length=64, blank=True)
    bound_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.vendor} {self.model} on {self.network}"


class FileTemplate(TenantModel):
    """A customer's own template for one vendor's file of one kind (phones.files.vendors),
    used instead of the shipped one. Saved only once it renders for a sample phone."""

    vendor = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    body = models.TextField()
    updated = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "vendor", "kind"], name="phones_filetemplate_unique"
            ),
        ]
