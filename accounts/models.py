from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q


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
        ]

    def __str__(self) -> str:
        return self.name or self.username

    @property
    def display_name(self) -> str:
        return self.name or self.username
