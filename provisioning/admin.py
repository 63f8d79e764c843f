"""Support's admin for bootstraps and tokens, and for devices.

Every change goes through provisioning.services, so it is versioned and writes an Event
naming the staff user. The change forms carry the version the staff user loaded, so an
edit of a version someone changed since is refused rather than overwriting it.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages

from accounts.admin import REFUSALS, ReadOnlyAdmin, ServiceAdmin, acts_as_staff, refusal_text
from devices.models import Device
from provisioning.models import (
    AutoProvisioning,
    Bootstrap,
    Category,
    ConfigJob,
    ProvisioningCode,
    Rollout,
    SoftwareJob,
    Token,
)
from provisioning.services import (
    bootstrap_delete,
    bootstrap_save,
    device_obsolete,
    parse_parameters,
    token_delete,
    token_save,
)


def _bootstrap_label(bootstrap: Bootstrap) -> str:
    return f"{bootstrap.customer.name}: {bootstrap.name}"


# --- Bootstraps ------------------------------------------------------------------------


class BootstrapAdminForm(forms.ModelForm):
    parameters = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "cols": 80, "spellcheck": "false"}),
        strip=False,
        help_text='A JSON object, for example {"site": "site-1094"}.',
    )

    class Meta:
        model = Bootstrap
        fields = ["customer", "name", "parameters", "version"]
        widgets = {"version": forms.HiddenInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(self.initial.get("parameters"), dict | list):
            self.initial["parameters"] = json.dumps(
                self.initial["parameters"], indent=2, ensure_ascii=False
            )

    def clean_parameters(self):
        try:
            return parse_parameters(self.cleaned_data["parameters"])
        except forms.ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["parameters"]) from None


@admin.register(Bootstrap)
class BootstrapAdmin(ServiceAdmin):
    form = BootstrapAdminForm
    list_display = ["name", "customer", "version", "updated"]
    list_filter = ["customer"]
    search_fields = ["name", "customer__name", "customer__slug"]
    list_select_related = ["customer"]
    ordering = ["customer__name", "name", "pk"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "name", "parameters"]
        return ["customer", "name", "parameters", "version", "created", "updated"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["customer", "created", "updated"]

    def get_deleted_objects(self, objs, request):
        # Tokens protect their bootstrap; bootstrap_delete refuses that and names them, so
        # the confirmation is offered and the service's answer is what staff read.
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []

    def save_through_service(self, request, form, obj):
        data = form.cleaned_data
        bootstrap, _created = bootstrap_save(
            customer=data["customer"] if obj is None else obj.customer,
            user=request.user,
            name=data["name"],
            parameters=data["parameters"],
            instance=obj,
            expected_version=None if obj is None else data["version"],
            add_only=obj is None,
        )
        return bootstrap

    def delete_through_service(self, request, obj):
        bootstrap_delete(bootstrap=obj, user=request.user)


# --- Tokens ----------------------------------------------------------------------------


class TokenAdminForm(forms.ModelForm):
    class Meta:
        model = Token
        fields = [
            "customer",
            "value",
            "app_id",
            "bootstrap",
            "description",
            "expires_at",
            "max_redemptions",
            "revoked",
            "version",
        ]
        widgets = {"version": forms.HiddenInput}


TOKEN_FIELDS = [
    "value",
    "app_id",
    "bootstrap",
    "description",
    "expires_at",
    "max_redemptions",
    "revoked",
]


@admin.register(Token)
class TokenAdmin(ServiceAdmin):
    form = TokenAdminForm
    list_display = [
        "value",
        "customer",
        "app_id",
        "bootstrap",
        "revoked",
        "expires_at",
        "redemption_count",
        "max_redemptions",
        "last_redeemed",
    ]
    list_filter = ["app_id", "revoked", "customer"]
    search_fields = ["value", "description", "customer__name", "customer__slug"]
    list_select_related = ["customer", "bootstrap"]
    ordering = ["customer__name", "value", "pk"]
    service_fields = {
        "token": "value",
        "appId": "app_id",
        "expiresAt": "expires_at",
        "maxRedemptions": "max_redemptions",
    }

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", *TOKEN_FIELDS]
        return [
            "customer",
            *TOKEN_FIELDS,
            "version",
            "redemption_count",
            "last_redeemed",
            "created",
            "updated",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["customer", "redemption_count", "last_redeemed", "created", "updated"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "bootstrap":
            field.queryset = field.queryset.select_related("customer").order_by(
                "customer__name", "name"
            )
            field.label_from_instance = _bootstrap_label
        return field

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        bootstrap = form.base_fields.get("bootstrap")
        if obj is not None and bootstrap is not None:
            bootstrap.queryset = bootstrap.queryset.filter(customer=obj.customer_id)
        return form

    def save_through_service(self, request, form, obj):
        data = form.cleaned_data
        token, _created = token_save(
            customer=data["customer"] if obj is None else obj.customer,
            user=request.user,
            value=data["value"],
            app_id=data["app_id"],
            bootstrap=data["bootstrap"],
            description=data["description"],
            expires_at=data["expires_at"],
            max_redemptions=data["max_redemptions"],
            revoked=data["revoked"],
            instance=obj,
            expected_version=None if obj is None else data["version"],
            add_only=obj is None,
        )
        return token

    def delete_through_service(self, request, obj):
        token_delete(token=obj, user=request.user)


# --- Devices ---------------------------------------------------------------------------


@admin.action(description="Mark obsolete", permissions=["obsolete"])
def mark_obsolete(modeladmin, request, queryset):
    """Mark each selected device obsolete through the service (which releases its
    licenses and writes an Event)."""
    done = 0
    for device in queryset.order_by("pk"):
        try:
            device_obsolete(device=device, user=request.user)
        except REFUSALS as exc:
            modeladmin.message_user(request, f"{device}: {refusal_text(exc)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} device(s) marked obsolete.", messages.SUCCESS)


# Registered here rather than in devices/admin.py: its action calls provisioning.services,
# and devices sits below provisioning in the app order.
@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    """Devices appear by redeeming a token or through direct add in the portal and API;
    here staff only look, and mark them obsolete."""

    list_display = [
        "device_id",
        "customer",
        "state",
        "kind",
        "model",
        "app_id",
        "app_version",
        "site",
        "site_status",
        "last_checkin",
    ]
    list_filter = ["state", "kind", "site_status", "customer"]
    search_fields = ["device_id"]
    list_select_related = ["customer", "site"]
    show_full_result_count = False
    # Newest first: the primary key is an index every page can walk, among millions.
    ordering = ["-pk"]
    exclude = ["password"]
    actions = [mark_obsolete]

    def has_obsolete_permission(self, request) -> bool:
        return acts_as_staff(request)


# --- Desk phones -----------------------------------------------------------------------
# Read-only for support: categories, codes and jobs are the customer's, changed in the
# portal or the API through provisioning.phones.


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "customer", "is_provisioning", "bootstrap", "updated"]
    list_filter = ["is_provisioning", "customer"]
    search_fields = ["name", "customer__name", "customer__slug"]
    list_select_related = ["customer", "bootstrap"]


@admin.register(ProvisioningCode)
class ProvisioningCodeAdmin(ReadOnlyAdmin):
    list_display = ["code", "customer", "category", "user", "state_label", "expires_at", "device"]
    list_filter = [("used_at", admin.EmptyFieldListFilter), "customer"]
    search_fields = ["code", "customer__name", "user__username", "device__device_id"]
    list_select_related = ["customer", "category", "user", "device"]
    date_hierarchy = "created"
    show_full_result_count = False

    @admin.display(description="state")
    def state_label(self, obj: ProvisioningCode) -> str:
        return obj.get_state_display()


@admin.register(Rollout)
class RolloutAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "app_id", "created_by", "created"]
    list_filter = ["customer"]
    list_select_related = ["customer", "category", "created_by"]


@admin.register(SoftwareJob)
class SoftwareJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "description", "created"]
    list_filter = ["customer"]
    search_fields = ["description", "category__name", "customer__name"]
    list_select_related = ["customer", "category"]


@admin.register(ConfigJob)
class ConfigJobAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "category", "config_type", "description", "created"]
    list_filter = ["config_type", "customer"]
    search_fields = ["config_type", "description", "category__name", "customer__name"]
    list_select_related = ["customer", "category"]


@admin.register(AutoProvisioning)
class AutoProvisioningAdmin(ReadOnlyAdmin):
    # The token's hash is never shown; the hint tells tokens apart.
    list_display = ["customer", "enabled", "token_hint", "token_set_at"]
    fields = ["customer", "enabled", "token_hint", "token_set_at"]
    list_select_related = ["customer"]
