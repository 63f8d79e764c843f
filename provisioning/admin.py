"""Support's admin for bootstraps and tokens, and for devices.

Every change goes through provisioning.services, so it is versioned and writes an Event
naming the staff user. The change forms carry the version the staff user loaded, so an
edit of a version someone changed since is refused rather than overwriting it.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin

from accounts.admin import ServiceAdmin
from provisioning.models import Bootstrap, Token
from provisioning.services.bootstraps import bootstrap_delete, bootstrap_save, parse_parameters
from provisioning.services.tokens import token_delete, token_save


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
