"""The device page: what several apps know of a device (the registry, its licenses, its
requests, the jobs it received), and obsoleting it, which returns its licenses to the
pool. It lives here, above devices, licensing and phones."""

from __future__ import annotations

from dataclasses import replace

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from accounts.permissions import Action, Area, can
from accounts.views_base import PostOnlyMixin, TenantViewMixin
from core.client import public_base_url
from core.errors import ServiceError
from devices.models import Device, DeviceKind, DeviceState
from gateway.services.devices import device_obsolete
from gateway.services.files import file_read, phone_file_body, phone_inputs
from phones.files.access import file_secret, secret_lookup, secret_masked
from phones.files.render import firmware_url
from phones.files.vendors import FIRMWARE, SETTINGS, SNOM, VENDORS, vendor_for_model
from phones.models import JobDelivery, PhoneBinding, PhoneLine
from phones.services.lines import phone_binding_release, phone_line_delete, phone_line_set
from reports.models import History

# The detail page shows the newest requests of a device, not its whole past.
DEVICE_HISTORY_ROWS = 50


class _DeviceMixin:
    """Detail and obsolete pages: the device comes from the tenant queryset, so another
    customer's pk is a 404."""

    model = Device
    object = None

    def get_object(self) -> Device:
        return get_object_or_404(
            self.get_queryset().select_related("site", "provisioned_site"), pk=self.kwargs["pk"]
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(object=self.object, device=self.object, **kwargs)


class DeviceDetailView(_DeviceMixin, TenantViewMixin, TemplateView):
    area = Area.DEVICES
    template_name = "gateway/device_detail.html"
    page_title = "Device"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.page_title = f"Device {self.object.device_id}"
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        history = History.objects.for_customer(self.customer).filter(
            device_id=self.object.device_id
        )[:DEVICE_HISTORY_ROWS]
        # Licenses only for roles that may view them; None hides the section.
        licenses = None
        if can(self.request.user, Area.LICENSES):
            licenses = self.object.assignments.select_related("entitlement").order_by(
                F("released_at").desc(nulls_first=True), "-last_contact"
            )
        return super().get_context_data(
            history=history,
            history_limit=DEVICE_HISTORY_ROWS,
            licenses=licenses,
            jobs_received=_jobs_received(self.object),
            phone_files=_phone_files(self.object, public_base_url(self.request)),
            can_set_lines=can(self.request.user, Area.PROVISIONING, Action.CHANGE),
            line_form=PhoneLineForm(),
            **kwargs,
        )


def _jobs_received(device: Device) -> list[JobDelivery] | None:
    """A desk phone's latest delivery of each kind of job (software; each config type),
    software first: one query, however many registrations delivered jobs. None for other
    devices, which receive no jobs."""
    if device.kind != DeviceKind.DESK_PHONE:
        return None
    # Software deliveries have no config job, so their config type is NULL: one partition.
    kind = F("config_job__config_type")
    return list(
        JobDelivery.objects.filter(customer_id=device.customer_id, device=device)
        .select_related("software_job", "config_job")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[kind],
                order_by=[F("delivered_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank=1)
        .order_by(kind.asc(nulls_first=True))
    )


class DeviceObsoleteView(_DeviceMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST marks the device obsolete."""

    gone_url_name = "devices:device_list"

    area = Area.DEVICES
    action = Action.CHANGE
    template_name = "gateway/device_confirm_obsolete.html"
    page_title = "Mark device obsolete"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        device = self.get_object()
        was_obsolete = device.state == DeviceState.OBSOLETE
        # The service decides what is left to do (an obsolete device may still hold
        # licenses to give back); the page only words the outcome.
        device_obsolete(device=device, user=request.user)
        if was_obsolete:
            messages.info(request, f"Device {device.device_id} was already obsolete.")
        else:
            messages.success(request, f"Device {device.device_id} marked obsolete.")
        return redirect("gateway:device_detail", pk=device.pk)


def _phone_files(device: Device, base_url: str) -> dict | None:
    """What a desk phone receives: its binding, its lines and its files as its vendor's
    firmware would get them now, with passwords and the URL secret masked. None for
    other devices."""
    if device.kind != DeviceKind.DESK_PHONE:
        return None
    binding = PhoneBinding.objects.filter(device=device).first()
    model = binding.model if binding else device.model.upper()
    vendor = VENDORS[binding.vendor] if binding else vendor_for_model(model)
    shown = {
        "binding": binding,
        "lines": list(PhoneLine.objects.filter(device=device).order_by("position")),
        "vendor": vendor,
        "files": [],
        "problem": "",
    }
    family = vendor.family_of(model) if vendor else None
    if vendor is None or family is None:
        shown["problem"] = (
            f"The server has no files for the model {model or '(none reported)'}: its "
            "first fetch names it."
        )
        return shown
    now = timezone.now()
    try:
        lookup = secret_lookup(file_secret(device.customer))
        read = file_read(lookup=lookup, vendor=vendor, mac=device.device_id, now=now)
        if read is None:
            shown["problem"] = "The customer is deactivated: its phones are given no files."
            return shown
        inputs = phone_inputs(
            read,
            vendor=vendor,
            mac=device.device_id,
            model=model,
            family=family,
            base_url=base_url,
        )
    except ServiceError as exc:  # the encryption keys are missing or retired
        shown["problem"] = exc.detail
        return shown
    inputs = replace(
        inputs,
        lines=tuple(
            replace(line, password="********" if line.password else "") for line in inputs.lines
        ),
    )
    firmware = firmware_url(vendor, family, inputs.firmware)
    kinds = [SETTINGS] + ([FIRMWARE] if vendor is SNOM and firmware else [])
    for kind in kinds:
        name = {
            (SETTINGS, "yealink"): f"{device.device_id.lower()}.cfg",
            (FIRMWARE, "snom"): f"{device.device_id}-firmware.xml",
        }.get((kind, vendor.key), f"{device.device_id}.xml")
        body = phone_file_body(read, inputs, kind, now)
        shown["files"].append((f"{vendor.key}/{name}", secret_masked(body)))
    return shown


class PhoneLineForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=12, initial=1)
    extension = forms.CharField(max_length=64)
    display_name = forms.CharField(max_length=64, required=False)
    auth_user = forms.CharField(label="Authentication user", max_length=64, required=False)
    password = forms.CharField(
        max_length=128,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored one.",
    )


# Service errors name the API's fields; the form's are these.
_LINE_FIELDS = {"displayName": "display name", "authUser": "authentication user"}


class DeviceLineSetView(PostOnlyMixin, _DeviceMixin, TenantViewMixin, View):
    """Set one of a desk phone's lines (Admins and Super-Admins: provisioning)."""

    area = Area.PROVISIONING
    action = Action.CHANGE

    def post(self, request, *args, **kwargs):
        device = self.get_object()
        form = PhoneLineForm(request.POST)
        if not form.is_valid():
            problems = [f"{name}: {' '.join(errs)}" for name, errs in form.errors.items()]
        else:
            data = form.cleaned_data
            try:
                phone_line_set(
                    device=device,
                    user=request.user,
                    position=data["position"],
                    extension=data["extension"],
                    display_name=data["display_name"],
                    auth_user=data["auth_user"],
                    password=data["password"] or None,
                )
            except ValidationError as exc:
                problems = [
                    f"{_LINE_FIELDS.get(name, name)}: {' '.join(errs)}"
                    for name, errs in exc.message_dict.items()
                ]
            except ServiceError as exc:
                problems = [exc.detail]
            else:
                problems = []
                messages.success(request, f"Line {data['position']} set to {data['extension']}.")
        if problems:
            messages.error(request, "Line not saved. " + "; ".join(problems))
        return redirect(reverse("gateway:device_detail", args=[device.pk]) + "#lines-heading")


class DeviceLineDeleteView(_DeviceMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST deletes the line (its SIP account leaves the
    phone's file on the next fetch)."""

    area = Area.PROVISIONING
    action = Action.CHANGE
    template_name = "gateway/device_confirm_line_delete.html"
    page_title = "Delete a line"

    def line(self, device: Device) -> PhoneLine:
        return get_object_or_404(PhoneLine, device=device, position=self.kwargs["position"])

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, line=self.line(self.object), **kwargs)

    def post(self, request, *args, **kwargs):
        device = self.get_object()
        line = self.line(device)
        phone_line_delete(line=line, user=request.user)
        messages.success(request, f"Line {line.position} ({line.extension}) deleted.")
        return redirect(reverse("gateway:device_detail", args=[device.pk]) + "#lines-heading")


class DeviceBindingReleaseView(PostOnlyMixin, _DeviceMixin, TenantViewMixin, View):
    """Let a replaced or moved phone bind again on its next fetch."""

    area = Area.PROVISIONING
    action = Action.CHANGE

    def post(self, request, *args, **kwargs):
        device = self.get_object()
        if phone_binding_release(device=device, user=request.user):
            messages.success(request, f"{device.device_id} will bind again on its next fetch.")
        else:
            messages.info(request, f"{device.device_id} was not bound.")
        return redirect(reverse("gateway:device_detail", args=[device.pk]) + "#binding-heading")
