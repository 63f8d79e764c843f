from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.timezones import default_time_zone, validate_time_zone


class Customer(models.Model):
    """A tenant: every row a customer owns points here."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=64, unique=True)
    contact_name = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    extension_manager_url = models.URLField(
        "Extension Manager URL",
        max_length=500,
        blank=True,
        help_text="var_location of the Extension Manager bootstrap; empty if not entitled.",
    )
    ptt_server = models.CharField(
        "PTT Pro server",
        max_length=64,
        blank=True,
        help_text="Name of the customer's PTT Pro server in PTT_SERVERS; empty if none.",
    )
    license_account = models.CharField(
        "entitlement account",
        max_length=64,
        blank=True,
        help_text="The customer's account on the entitlement back end; the slug if empty.",
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="The portal shows its users' times in this zone (an IANA name such as "
        "Europe/Berlin).",
    )
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TenantQuerySet(models.QuerySet):
    """The one place a query is narrowed to a customer."""

    def for_customer(self, customer: Customer | None) -> TenantQuerySet:
        if customer is None:
            return self.none()
        return self.filter(customer=customer)


class TenantModel(models.Model):
    """Base for every customer-owned model: the customer column and the scoped manager."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class Role(models.TextChoices):
    SUPER_ADMIN = "super_admin", "Super-Admin"
    ADMIN = "admin", "Admin"
    USER = "user", "User"


class PortalUserManager(UserManager.from_queryset(TenantQuerySet)):
    pass


class User(AbstractUser):
    """A login. Portal users belong to a customer and hold a role; staff (the vendor's
    support team) have no customer and act for one they pick."""

    first_name = None
    last_name = None
    name = models.CharField("user name", max_length=150, blank=True)
    email = models.EmailField("email address")
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    password_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the password last changed; API tokens issued before it are refused.",
    )
    # Bumped by every change through accounts.services, so an edit made on an older copy
    # (a second tab, a colleague) is refused instead of silently overwriting (as tokens).
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PortalUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        verbose_name = "portal user"
        constraints = [
            models.CheckConstraint(
                name="%(app_label)s_%(class)s_customer_has_role",
                condition=(
                    Q(customer__isnull=True, role="") | Q(customer__isnull=False) & ~Q(role="")
                ),
                violation_error_message="A portal user needs both a customer and a role.",
            ),
            # `Demo-Admin` beside `demo-admin` would be two people to Django and one to
            # everybody else.
            models.UniqueConstraint(
                Lower("username"),
                name="%(app_label)s_%(class)s_unique_username_ci",
                violation_error_message=(
                    "A user with this login name already exists (ignoring case)."
                ),
            ),
            # Password reset finds the account by e-mail: two accounts with one address
            # would both get a link.
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="%(app_label)s_%(class)s_unique_email_ci",
                violation_error_message="Another account uses this e-mail address.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.username

    @property
    def display_name(self) -> str:
        return self.name or self.username

    # A new password, deactivation and deletion end the user's API logins
    # (accounts.services.user_tokens_revoke). The portal services, Django's password reset
    # form, `manage.py changepassword` and the staff admin's password, change and delete
    # pages all end in these instance methods, so the hook is here, once, not in each
    # caller. A pre/post_save receiver would see the same saves but not whether the
    # password is new: Django's re-hash on login calls set_password too and then clears
    # `_password`, which is how it tells the two apart. Queryset update() and delete()
    # bypass the hook; the refresh endpoint refuses those users on its own.

    _password_dropped = False  # set_unusable_password() since the last save

    def set_unusable_password(self) -> None:
        super().set_unusable_password()
        self._password_dropped = True

    def save(self, *args, **kwargs) -> None:
        update_fields = kwargs.get("update_fields")
        password_changed = self._password is not None or self._password_dropped
        if password_changed:
            self.password_changed_at = timezone.now()
            if update_fields is not None and "password" in update_fields:
                kwargs["update_fields"] = {*update_fields, "password_changed_at"}
        deactivated = not self.is_active and (update_fields is None or "is_active" in update_fields)
        if self._state.adding or not (password_changed or deactivated):
            super().save(*args, **kwargs)
        else:
            from accounts.services import user_tokens_revoke  # services imports this module

            with transaction.atomic(using=kwargs.get("using")):
                super().save(*args, **kwargs)
                user_tokens_revoke(user=self)
        self._password_dropped = False

    def delete(self, *args, **kwargs):
        from accounts.services import user_tokens_revoke  # services imports this module

        # Before the row goes: simplejwt's OutstandingToken.user is SET_NULL on delete.
        with transaction.atomic(using=kwargs.get("using")):
            user_tokens_revoke(user=self)
            return super().delete(*args, **kwargs)

    def token_predates_password(self, issued_at: int | None) -> bool:
        """Whether a JWT issued at `issued_at` (its `iat`, whole epoch seconds) is older
        than the current password. A token from the very second of the change counts as
        newer, so a login right after the change works; the refresh tokens of that second
        are blacklisted by the change anyway, only an access token (15 minutes) slips."""
        if self.password_changed_at is None:
            return False
        if issued_at is None:
            return True
        return issued_at < int(self.password_changed_at.timestamp())
