"""Rules about customers and portal users. Views, the API, commands and admin call these."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import Customer, Role, User
from accounts.signals import customer_created, portal_user_changed
from accounts.timezones import default_time_zone
from core.errors import version_check


def user_can_sign_in(user: User) -> bool:
    """Staff always may; a portal user only while their customer is active."""
    if not user.is_active:
        return False
    if user.is_staff:
        return True
    return user.customer_id is not None and user.customer.is_active


def user_tokens_revoke(*, user: User) -> int:
    """Blacklist the user's live API refresh tokens: every login and every rotation of
    it. User.save() calls this when the password changes or the user is deactivated,
    User.delete() before the row goes. Answers how many tokens were still live."""
    return _refresh_tokens_revoke(User.objects.filter(pk=user.pk))


def _refresh_tokens_revoke(users: QuerySet[User]) -> int:
    with transaction.atomic():
        # The refresh endpoint locks the user row before it rotates a token. Locking it
        # here means a refresh in flight has committed its new token before we list them,
        # and a later one waits and then finds its token blacklisted.
        list(users.select_for_update().values_list("pk", flat=True))
        live = OutstandingToken.objects.filter(
            user__in=users, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        ).values_list("pk", flat=True)
        revoked = [BlacklistedToken(token_id=pk) for pk in live]
        BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)


def customer_create(
    *,
    name: str,
    slug: str = "",
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
    extension_manager_url: str = "",
    time_zone: str = "",
    user: User | None = None,
) -> Customer:
    """Create a tenant. The slug defaults to one made from the name. The apps above
    accounts add what a new customer starts with (provisioning: its default bootstraps
    and tokens) through `customer_created`, in the same transaction."""
    customer = Customer(
        name=name.strip(),
        slug=slug or slugify(name)[:64],
        contact_name=contact_name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        extension_manager_url=extension_manager_url,
        # Empty: the server's zone (the field's default).
        time_zone=time_zone or default_time_zone(),
    )
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        customer_created.send(sender=Customer, customer=customer, user=user)
    return customer


def portal_user_create(
    *,
    customer: Customer,
    username: str,
    email: str,
    role: str,
    password: str,
    name: str = "",
    acting_user: User | None = None,
) -> User:
    """Add a portal user to `customer`; the password must pass the password validators.
    `acting_user` is who adds them (None for a command), for the audit log."""
    user = User(customer=customer, username=username, email=email, role=role, name=name)
    _validate(user)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    with transaction.atomic():
        _save(user)
        changes = {field: ["", getattr(user, field)] for field in _AUDITED_FIELDS}
        _announce(user, acting_user, "added", changes)
    return user


@transaction.atomic
def portal_user_update(
    *,
    user: User,
    email: str,
    role: str,
    name: str = "",
    password: str = "",
    acting_user: User | None = None,
    expected_version: int | None = None,
) -> User:
    """Change a portal user. A customer always keeps at least one Super-Admin. A new
    password ends the user's API logins (User.save revokes their tokens). A change is
    announced for the audit log with `acting_user`, who made it. With `expected_version`
    (the version the caller edited) a change made meanwhile is refused (StaleVersion)."""
    _lock_customer(user.customer_id)
    user.version = _check_version(user, expected_version) + 1
    if user.role == Role.SUPER_ADMIN and role != Role.SUPER_ADMIN:
        _ensure_other_super_admin(user, "role")
    before = {field: getattr(user, field) for field in _AUDITED_FIELDS}
    user.email = email
    user.role = role
    user.name = name
    _validate(user)
    if password:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    _save(user)
    changes = {
        field: [before[field], getattr(user, field)]
        for field in _AUDITED_FIELDS
        if before[field] != getattr(user, field)
    }
    if password:
        changes["password"] = ["", "changed"]
    if changes:
        _announce(user, acting_user, "updated", changes)
    return user


@transaction.atomic
def portal_user_delete(
    *, user: User, acting_user: User, expected_version: int | None = None
) -> None:
    """Remove a portal user. Nobody removes themselves, nor a customer's last Super-Admin.
    Their API refresh tokens are blacklisted first (User.delete). With `expected_version`
    a change made since the caller looked is refused (StaleVersion)."""
    if user.pk == acting_user.pk:
        raise ValidationError("You cannot delete your own account.")
    _lock_customer(user.customer_id)
    _check_version(user, expected_version)
    if user.role == Role.SUPER_ADMIN:
        _ensure_other_super_admin(user, None)
    before = {field: [getattr(user, field), ""] for field in _AUDITED_FIELDS}
    user.delete()
    _announce(user, acting_user, "deleted", before)


# What the audit log records of a portal user's change (accounts.signals).
_AUDITED_FIELDS = ("role", "email", "name")


def _announce(user: User, acting_user: User | None, change: str, changes: dict) -> None:
    # accounts writes no Events (reports sits above it): it announces, reports records.
    portal_user_changed.send(
        sender=User, user=user, acting_user=acting_user, change=change, changes=changes
    )


def _check_version(user: User, expected: int | str | None) -> int:
    """The stored version, read under a row lock; StaleVersion when it is not `expected`
    (someone else saved meanwhile) or the user is gone."""
    current = User.objects.select_for_update().filter(pk=user.pk).values_list("version", flat=True)
    stored = current.first()
    # Gone is stale even without a version to compare (the caller edited the one it read).
    given = user.version if stored is None and expected is None else expected
    version_check(kind="portal user", expected=given, current=stored)
    return stored


def _validate(user: User) -> None:
    """The model's rules, with the login name and e-mail checked ignoring case and across
    every customer (the constraints' rule), each named on its field."""
    errors: dict[str, list[str]] = {}
    others = User.objects.exclude(pk=user.pk)
    if user.username and others.filter(username__iexact=user.username).exists():
        errors["username"] = ["A user with this login name already exists (ignoring case)."]
    if user.email and others.filter(email__iexact=user.email).exists():
        errors["email"] = [
            "Another account uses this e-mail address. Each person needs their own: "
            "password reset finds the account by e-mail."
        ]
    try:
        user.full_clean(exclude=["password", *errors])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)
    if errors:
        raise ValidationError(errors)


def _save(user: User) -> None:
    # Two adds of one login or address at the same moment both pass _validate; the
    # database's constraints let one in and refuse the other here.
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        text = str(exc).lower()
        field = "email" if "email" in text else "username"
        raise ValidationError(
            {field: ["Another account took this meanwhile. Choose another."]}
        ) from None


def _lock_customer(customer_id: int | None) -> None:
    # Two Super-Admins demoting or deleting each other at the same moment could each see
    # "one other Super-Admin left"; locking the customer row makes them take turns.
    Customer.objects.select_for_update().filter(pk=customer_id).first()


def _ensure_other_super_admin(user: User, field: str | None) -> None:
    others = User.objects.filter(
        customer_id=user.customer_id, role=Role.SUPER_ADMIN, is_active=True
    ).exclude(pk=user.pk)
    if not others.exists():
        message = f"{user.username} is the last Super-Admin of {user.customer}; add another first."
        raise ValidationError({field: message} if field else message)


@transaction.atomic
def customer_update(*, customer: Customer, user: User | None, **fields: object) -> Customer:
    """Change a customer's details, or deactivate it with `is_active=False` (customers are
    never deleted: that would delete everything they own). Only the named fields are
    written, so a concurrent change to another field stays. Deactivating a customer
    revokes its users' API refresh tokens. `user` is who asked; accounts writes no Events
    (reports sits above it in the app order)."""
    editable = {
        "name",
        "slug",
        "contact_name",
        "contact_email",
        "contact_phone",
        "extension_manager_url",
        "ptt_server",
        "license_account",
        "time_zone",
        "is_active",
    }
    unknown = sorted(set(fields) - editable)
    if unknown:
        raise TypeError(f"customer_update() cannot change {', '.join(unknown)}")
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save(update_fields=[*fields, "updated"])
    if fields.get("is_active") is False:
        _refresh_tokens_revoke(User.objects.filter(customer=customer))
    return customer
