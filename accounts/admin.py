"""Support's Django admin at /staff/: customers and users, and the base classes every
app's admin module uses.

Staff have every action (accounts.permissions), so these admins let any active staff
user do what they offer; Django's per-model permissions are not used. Every change goes
through the app's services, so the admin meets the same rules as the portal and the API.
A ServiceAdmin calls its service while the form is validated. The service's refusals then
come back as errors on the form instead of a server error, and saving the form only
returns what the service saved.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy

from accounts.models import Customer, User
from accounts.services import (
    customer_create,
    customer_update,
    portal_user_create,
    portal_user_delete,
    portal_user_update,
)
from accounts.timezones import default_time_zone, time_zone_choices
from core.errors import ServiceError, StaleVersion

REFUSALS = (ValidationError, ServiceError)


def refusal_text(error: ValidationError | ServiceError) -> str:
    """A service's refusal as a sentence for an admin message."""
    if isinstance(error, StaleVersion):
        return error.sentence
    if isinstance(error, ServiceError):
        return error.detail
    return " ".join(error.messages)


def add_refusal(
    form: forms.BaseForm, error: ValidationError | ServiceError, renames: dict[str, str]
) -> None:
    """Show a service's refusal on the form field it names (`renames` maps the service's
    field names to the form's), or above the form."""
    if isinstance(error, ServiceError) or not hasattr(error, "error_dict"):
        form.add_error(None, refusal_text(error))
        return
    for key, texts in error.message_dict.items():
        name = renames.get(key, key)
        field = form.fields.get(name)
        if field is not None and not field.disabled and not field.widget.is_hidden:
            form.add_error(name, texts)
        elif key == NON_FIELD_ERRORS:
            form.add_error(None, texts)
        else:
            form.add_error(None, [f"{key}: {text}" for text in texts])


def acts_as_staff(request) -> bool:
    return request.user.is_active and request.user.is_staff


class StaffAdmin(admin.ModelAdmin):
    """Active staff may view, add, change and delete what the admin offers; subclasses
    narrow it."""

    def changelist_view(self, request, extra_context=None):
        # Answer a huge year in the date drill-down (OverflowError building the date) as
        # Django answers the bad filters it catches. (A NUL never gets this far:
        # core.middleware refuses it in any address.)
        try:
            return super().changelist_view(request, extra_context)
        except OverflowError:
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")

    def has_module_permission(self, request):
        return acts_as_staff(request)

    def has_view_permission(self, request, obj=None):
        return acts_as_staff(request)

    def has_add_permission(self, request):
        return acts_as_staff(request)

    def has_change_permission(self, request, obj=None):
        return acts_as_staff(request)

    def has_delete_permission(self, request, obj=None):
        return acts_as_staff(request)


class ReadOnlyAdmin(StaffAdmin):
    """Rows written by devices, syncs and jobs: staff look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceFormMixin:
    """Mixed into a ServiceAdmin's form by its get_form(). The service runs as the last
    step of validation because the admin chooses between saving and showing the form
    again from is_valid(); after that, a refusal could only be a server error."""

    save_through_service: Callable[[forms.ModelForm], models.Model | None]
    service_fields: dict[str, str] = {}
    saved: models.Model | None = None

    def _post_clean(self):
        # A hidden field's error would not be shown next to it.
        for name, field in self.fields.items():
            if field.widget.is_hidden and name in self._errors:
                texts = self._errors.pop(name)
                self.add_error(None, [f"{name}: {text}" for text in texts])
        if self._errors:
            return
        try:
            self.saved = self.save_through_service(self)
        except REFUSALS as exc:
            add_refusal(self, exc, self.service_fields)
            return
        if self.saved is None:
            # No service for this object: Django validates and saves it as usual.
            super()._post_clean()

    def save(self, commit=True):
        if self.saved is None:
            return super().save(commit)
        self.save_m2m = _nothing
        return self.saved


def _nothing() -> None:
    pass


@admin.action(
    permissions=["delete"],
    description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
)
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete (same name, same confirmation page), except that each object
    goes through delete_model(), that is, the service, and a refusal is reported for that
    object while the others are deleted."""
    if not request.POST.get("post"):
        return django_delete_selected(modeladmin, request, queryset)
    _deleted, _counts, perms_needed, _protected = modeladmin.get_deleted_objects(queryset, request)
    if perms_needed:
        raise PermissionDenied
    deleted = 0
    for obj in queryset:
        try:
            with transaction.atomic():
                modeladmin.log_deletions(request, [obj])
                modeladmin.delete_model(request, obj)
        except REFUSALS as exc:
            modeladmin.message_user(request, refusal_text(exc), messages.ERROR)
        else:
            deleted += 1
    if deleted:
        modeladmin.message_user(
            request,
            f"Deleted {deleted} {model_ngettext(modeladmin.opts, deleted)}.",
            messages.SUCCESS,
        )
    return None


class ServiceAdmin(StaffAdmin):
    """An admin whose add, change and delete call the app's services.

    Subclasses implement save_through_service() and delete_through_service(), and name in
    `service_fields` the service's error keys that differ from the form's field names."""

    service_fields: dict[str, str] = {}
    actions = [delete_selected]

    def save_through_service(
        self, request, form: forms.ModelForm, obj: models.Model | None
    ) -> models.Model | None:
        """Save form.cleaned_data through the service and return the saved object; `obj`
        is None when adding. Return None to let Django save it (no service applies)."""
        raise NotImplementedError

    def delete_through_service(self, request, obj: models.Model) -> None:
        raise NotImplementedError

    def uses_service(self, obj: models.Model | None) -> bool:
        return True

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not self.uses_service(obj):
            return form

        def save(bound_form):
            return self.save_through_service(request, bound_form, obj)

        attrs = {"save_through_service": staticmethod(save), "service_fields": self.service_fields}
        return type(form.__name__, (ServiceFormMixin, form), attrs)

    def save_model(self, request, obj, form, change):
        if getattr(form, "saved", None) is None:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        self.delete_through_service(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_through_service(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as exc:
            # Django's delete view runs in a transaction: its log entry is gone as well.
            self.message_user(request, refusal_text(exc), messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change",
                    args=[object_id],
                    current_app=self.admin_site.name,
                )
            )


# --- Customers -------------------------------------------------------------------------

CUSTOMER_ADD_FIELDS = [
    "name",
    "slug",
    "contact_name",
    "contact_email",
    "contact_phone",
    "extension_manager_url",
    "time_zone",
]


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
    list_display = ["name", "slug", "contact_name", "contact_email", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "contact_name", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created", "updated"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_fields(self, request, obj=None):
        if obj is None:
            return CUSTOMER_ADD_FIELDS
        return [
            *CUSTOMER_ADD_FIELDS,
            "ptt_server",
            "license_account",
            "is_active",
            "created",
            "updated",
        ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "time_zone":
            # A menu of the names the validator takes, rather than a name to type.
            return forms.ChoiceField(
                choices=time_zone_choices(),
                initial=default_time_zone,
                label="Time zone",
                help_text=db_field.help_text,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Deleting a tenant deletes everything it owns; customers are deactivated instead.
        return False

    def save_through_service(self, request, form, obj):
        data = form.cleaned_data
        if obj is None:
            return customer_create(
                **{name: data[name] for name in CUSTOMER_ADD_FIELDS}, user=request.user
            )
        changed = {name: data[name] for name in form.changed_data if name in data}
        return customer_update(customer=obj, user=request.user, **changed)


# --- Users -----------------------------------------------------------------------------


class UserAddForm(AdminUserCreationForm):
    """A staff account when no customer is chosen, otherwise a portal user (created by
    portal_user_create)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username", "email", "name", "customer", "role"]


# The staff user on the set-password page (UserAdmin.user_change_password), for the
# audit log of UserPasswordForm's change.
_password_changer: ContextVar[User | None] = ContextVar("password_changer", default=None)


class UserPasswordForm(AdminPasswordChangeForm):
    """Django's set-password form; a portal user's password goes through
    portal_user_update, which checks it as the portal does."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        if user.customer_id is not None:
            # Portal users sign in with a password: it can be replaced, not switched off.
            self.fields.pop("usable_password", None)
            self.fields["password1"].required = True
            self.fields["password2"].required = True

    def _post_clean(self):
        super()._post_clean()
        if self.user.customer_id is None or self._errors:
            return
        try:
            portal_user_update(
                user=self.user,
                email=self.user.email,
                role=self.user.role,
                name=self.user.name,
                password=self.cleaned_data["password1"],
                acting_user=_password_changer.get(),
            )
        except REFUSALS as exc:
            add_refusal(self, exc, {"password": "password2"})

    def save(self, commit=True):
        if self.user.customer_id is None:
            return super().save(commit)
        return self.user


@admin.register(User)
class UserAdmin(ServiceAdmin, DjangoUserAdmin):
    """Portal users (with a customer) change through accounts.services; staff accounts
    (no customer) keep Django's own user admin."""

    list_display = ["username", "name", "email", "customer", "role", "is_staff", "is_active"]
    list_filter = ["role", "is_staff", "is_active", "customer"]
    list_select_related = ["customer"]
    search_fields = ["username", "name", "email", "customer__name"]
    ordering = ["username"]
    add_form = UserAddForm
    change_password_form = UserPasswordForm
    service_fields = {"password": "password2"}
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Personal info", {"fields": ["name", "email"]}),
        ("Support access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    portal_fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Portal", {"fields": ["customer", "role", "name", "email"]}),
        ("Status", {"fields": ["is_active", "last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "description": "Choose a customer and role for a portal user; leave both "
                "empty for a staff account.",
                "fields": [
                    "username",
                    "email",
                    "name",
                    "customer",
                    "role",
                    "usable_password",
                    "password1",
                    "password2",
                ],
            },
        ),
    ]

    def uses_service(self, obj):
        return obj is None or obj.customer_id is not None

    def user_change_password(self, request, id, form_url=""):
        # Django builds the password form without the request; the audit log needs who.
        token = _password_changer.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_changer.reset(token)

    def get_fieldsets(self, request, obj=None):
        if obj is not None and obj.customer_id is not None:
            return self.portal_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        if obj.customer_id is not None:
            # portal_user_update changes role, name and email; nothing else here.
            return ["username", "customer", "is_active", "last_login", "date_joined"]
        if request.user.is_superuser:
            return ["last_login", "date_joined"]
        return ["is_superuser", "last_login", "date_joined"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_touch(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_touch(request, obj)

    def _may_touch(self, request, obj) -> bool:
        # Otherwise a staff user could take over a superuser's account.
        return obj is None or not obj.is_superuser or request.user.is_superuser

    def save_through_service(self, request, form, obj):
        data = form.cleaned_data
        if obj is not None:
            return portal_user_update(
                user=obj,
                email=data["email"],
                role=data["role"],
                name=data["name"],
                password="",
                acting_user=request.user,
            )
        if data.get("customer") is None:
            return None
        return portal_user_create(
            customer=data["customer"],
            username=data["username"],
            email=data["email"],
            role=data["role"],
            name=data["name"],
            password=data.get("password1") or "",
            acting_user=request.user,
        )

    def delete_through_service(self, request, obj):
        if obj.customer_id is None:
            obj.delete()
        else:
            portal_user_delete(user=obj, acting_user=request.user)
