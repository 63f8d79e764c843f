"""Add a phone: a one-time code for the person adding it, and its live state."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import FormView, TemplateView, View

from accounts.permissions import Action, Area, can
from accounts.views_base import TenantObjectMixin, TenantViewMixin, add_service_errors
from core.client import client_ip
from phones.forms import PhoneAddForm
from phones.models import CodeState, ProvisioningCode
from phones.services.categories import default_provisioning_category
from phones.services.codes import CODE_LIFETIME, provisioning_code_issue
from phones.views.common import never_cached
from provisioning.forms import SERVICE_FIELDS

# How many of their own codes the Add a phone page lists.
RECENT_CODES = 10


def code_state(code: ProvisioningCode, now) -> CodeState:
    if code.used_at is not None:
        return CodeState.REGISTERED
    return CodeState.EXPIRED if code.expires_at <= now else CodeState.PENDING


def code_status(code: ProvisioningCode, now) -> dict:
    """What the live pages show of a code (the JSON of code_status and rollout_status)."""
    state = code_state(code, now)
    device = code.device if code.used_at else None
    return {
        "id": code.pk,
        "state": state.value,
        "stateLabel": state.label,
        "expiresAt": code.expires_at.isoformat(),
        "secondsLeft": (
            max(0, int((code.expires_at - now).total_seconds()))
            if state == CodeState.PENDING
            else 0
        ),
        "registeredAt": code.used_at.isoformat() if code.used_at else None,
        "device": None
        if device is None
        else {
            "mac": device.mac or device.device_id,
            "model": device.model,
            "url": reverse("gateway:device_detail", args=[device.pk]),
        },
    }


class CodeScopeMixin:
    """The codes a person may follow: their own; Super-Admins, Admins and staff may follow
    any of the customer's. Anyone else's code is a 404, as another customer's is."""

    model = ProvisioningCode

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.followed_by(self.request.user).select_related("category", "device")

    def own_codes(self) -> QuerySet:
        """The codes this person issued for themselves on Add a phone. Staff belong to no
        customer, so theirs are issued for nobody: they see the customer's such codes."""
        codes = ProvisioningCode.objects.for_customer(self.customer).select_related(
            "category", "device"
        )
        if self.request.user.customer_id == self.customer.pk:
            return codes.filter(user=self.request.user)
        return codes.filter(user__isnull=True, rollout__isnull=True)


class PhoneAddView(CodeScopeMixin, TenantViewMixin, FormView):
    """Pick a provisioning category; POST issues a 10-minute code for the user."""

    area = Area.PHONES
    action = Action.CHANGE
    form_class = PhoneAddForm
    template_name = "phones/phone_add.html"
    page_title = "Add a phone"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def get_initial(self):
        default = default_provisioning_category(self.customer)
        return {"category": default.pk if default else None}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        recent = list(self.own_codes()[:RECENT_CODES])
        for code in recent:
            code.current_state = code_state(code, now)
        context.update(
            recent_codes=recent,
            categories=list(context["form"].fields["category"].queryset),
            can_manage=can(self.request.user, Area.PROVISIONING, Action.CHANGE),
            code_minutes=int(CODE_LIFETIME.total_seconds() // 60),
        )
        return context

    def form_valid(self, form):
        user = self.request.user
        try:
            code = provisioning_code_issue(
                customer=self.customer,
                user=user,
                category=form.cleaned_data["category"],
                for_user=user if user.customer_id == self.customer.pk else None,
                ip_address=client_ip(self.request) or None,
            )
        except ValidationError as exc:
            add_service_errors(form, exc, SERVICE_FIELDS)
            return self.form_invalid(form)
        return redirect("phones:phone_code", pk=code.pk)


class PhoneCodeView(CodeScopeMixin, TenantObjectMixin, TenantViewMixin, TemplateView):
    """One code in large digits, its countdown and its state, refreshed live."""

    area = Area.PHONES
    template_name = "phones/phone_code.html"
    page_title = "Add a phone"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        response = super().get(request, *args, **kwargs)
        # The code is a credential until it is used: keep it out of shared caches.
        return never_cached(response)

    def get_context_data(self, **kwargs):
        code = self.object.code
        status = code_status(self.object, timezone.now())
        return super().get_context_data(
            code=self.object,
            groups=[code[i : i + 4] for i in range(0, len(code), 4)],
            status=status,
            **kwargs,
        )


class CodeStatusView(CodeScopeMixin, TenantObjectMixin, TenantViewMixin, View):
    """The state of one code as JSON, for the Add a phone page's live refresh."""

    area = Area.PHONES

    def get(self, request, *args, **kwargs):
        code = self.get_object()
        return never_cached(JsonResponse(code_status(code, timezone.now())))
