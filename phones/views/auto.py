"""The Automatic provisioning pages: the customer's token and the line for phones."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.views.generic import FormView, TemplateView

from accounts.permissions import Action, Area
from accounts.views_base import TenantViewMixin, add_service_errors
from core.client import public_base_url
from phones.forms import AutoEnableForm, AutoLineForm
from phones.models import AutoProvisioning
from phones.services.auto import (
    auto_provisioning_disable,
    auto_provisioning_enable,
    auto_provisioning_line,
    auto_provisioning_token_matches,
    device_url,
)
from phones.services.categories import provisioning_categories
from phones.views.common import never_cached
from provisioning.forms import SERVICE_FIELDS


class _AutoMixin:
    area = Area.PROVISIONING
    model = AutoProvisioning
    page_title = "Automatic provisioning"

    def auto_context(self) -> dict:
        """The status, the device URL and the provisioning categories, read once."""
        if not hasattr(self, "_auto_context"):
            base_url = public_base_url(self.request)
            self._auto_context = {
                "public_url": settings.PUBLIC_URL,
                "device_url": device_url(customer=self.customer, base_url=base_url),
                "categories": list(provisioning_categories(self.customer)),
                "setup": self.get_queryset().first(),
            }
        return self._auto_context

    def get_context_data(self, **kwargs):
        return super().get_context_data(**{**self.auto_context(), **kwargs})


class AutoProvisioningView(_AutoMixin, TenantViewMixin, TemplateView):
    """Status; for Super-Admins and Admins: enable or rotate, build the line, disable."""

    template_name = "phones/auto_provisioning.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if context["can_change"]:
            context["line_form"] = AutoLineForm(customer=self.customer)
        return context


class AutoEnableView(_AutoMixin, TenantViewMixin, FormView):
    """Enable, or rotate the token. The answer shows the token once: only a keyed hash of
    it is stored, so no later page can show it again."""

    action = Action.CHANGE
    form_class = AutoEnableForm
    template_name = "phones/auto_enable.html"

    def form_valid(self, form):
        try:
            token = auto_provisioning_enable(
                customer=self.customer, user=self.request.user, token=form.cleaned_data["token"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc, SERVICE_FIELDS)
            return self.form_invalid(form)
        # Read after the change, so the status shows the new token's hint.
        self.__dict__.pop("_auto_context", None)
        context = self.auto_context()
        lines = [
            (
                category,
                *auto_provisioning_line(
                    url=context["device_url"], token=token, category=category.name
                ),
            )
            for category in context["categories"]
        ]
        response = self.response_class(
            request=self.request,
            template=["phones/auto_token.html"],
            context=self.get_context_data(token=token, lines=lines),
        )
        return never_cached(response)


class AutoLineView(_AutoMixin, TenantViewMixin, FormView):
    """Build the configuration line again from the token (POST; nothing is stored)."""

    action = Action.CHANGE
    form_class = AutoLineForm
    template_name = "phones/auto_line.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer}

    def form_valid(self, form):
        if not auto_provisioning_token_matches(
            customer=self.customer, token=form.cleaned_data["token"]
        ):
            form.add_error(
                "token",
                "This is not the current token: phones would be refused. Paste the token "
                "shown when it was set, or set a new one.",
            )
            return self.form_invalid(form)
        context = self.auto_context()
        full_url, line = auto_provisioning_line(
            url=context["device_url"],
            token=form.cleaned_data["token"],
            category=form.cleaned_data["category"].name,
        )
        response = self.render_to_response(
            self.get_context_data(
                form=form, full_url=full_url, line=line, chosen=form.cleaned_data["category"]
            )
        )
        return never_cached(response)


class AutoDisableView(_AutoMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST disables and forgets the token."""

    action = Action.CHANGE
    template_name = "phones/auto_confirm_disable.html"

    def post(self, request, *args, **kwargs):
        auto_provisioning_disable(customer=self.customer, user=request.user)
        messages.success(request, "Automatic provisioning disabled; its token no longer works.")
        return redirect("phones:auto_provisioning")
