"""The device page: what several apps know of a device (the registry, its licenses, its
requests, the jobs it received), and obsoleting it, which returns its licenses to the
pool. It lives here, above devices, licensing and phones."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404, redirect
from django.views.generic import TemplateView

from accounts.permissions import Action, Area, can
from accounts.views_base import TenantViewMixin
from devices.models import Device, DeviceKind, DeviceState
from gateway.services.devices import device_obsolete
from phones.models import JobDelivery
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
