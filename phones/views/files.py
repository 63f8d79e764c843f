"""The Phone files page: the customer's phone file URL (rotated with a grace period) and
its own templates of the vendors' files (edited, previewed for a sample phone, or given
back to the shipped ones)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.views.generic import FormView, TemplateView

from accounts.permissions import Action, Area
from accounts.views_base import TenantViewMixin, add_service_errors
from core.client import public_base_url
from core.errors import AlreadyExists
from phones.files.access import (
    GRACE,
    file_secret,
    file_secret_rotate,
    files_url,
    secret_masked,
    vendor_server_url,
)
from phones.files.vendors import VENDORS
from phones.models import FileTemplate
from phones.services.templates import (
    KINDS,
    file_template_delete,
    file_template_save,
    shipped_source,
    template_kind,
    template_preview,
)
from phones.views.common import never_cached


class _FilesMixin:
    area = Area.PROVISIONING
    model = FileTemplate
    page_title = "Phone files"


class PhoneFilesView(_FilesMixin, TenantViewMixin, TemplateView):
    """The URL each vendor's phones are set to (whole for those who may change phones'
    provisioning, its secret hidden for others) and the templates in use."""

    template_name = "phones/files.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        base = files_url(public_base_url(self.request), file_secret(self.customer))
        own = {(t.vendor, t.kind): t for t in self.get_queryset().select_related("updated_by")}
        show = (lambda url: url) if context["can_change"] else secret_masked
        context.update(
            files_url=show(base),
            vendors=[(v, show(vendor_server_url(v, base))) for v in VENDORS.values()],
            templates=[
                {"vendor": VENDORS[v], "kind": k, "name": name, "own": own.get((v, k))}
                for (v, k), (name, _parser) in KINDS.items()
            ],
            grace_days=GRACE.days,
        )
        return context


class PhoneFilesRotateView(_FilesMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST gives the customer a new phone file URL."""

    action = Action.CHANGE
    template_name = "phones/files_confirm_rotate.html"
    page_title = "Change the phone file URL"

    def get_context_data(self, **kwargs):
        return super().get_context_data(grace_days=GRACE.days, **kwargs)

    def post(self, request, *args, **kwargs):
        try:
            file_secret_rotate(customer=self.customer, user=request.user)
        except AlreadyExists as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(
                request,
                f"The phone file URL changed. The previous one keeps working for "
                f"{GRACE.days} days: each phone fetching it meanwhile is moved to the new one.",
            )
        return redirect("phones:files")


class TemplateForm(forms.Form):
    body = forms.CharField(
        label="Template",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )


class _TemplateMixin(_FilesMixin):
    action = Action.CHANGE

    def dispatch(self, request, *args, **kwargs):
        try:
            self.vendor = template_kind(kwargs["vendor"], kwargs["kind"])
        except ValidationError:
            raise Http404("No such phone file") from None
        self.kind = kwargs["kind"]
        return super().dispatch(request, *args, **kwargs)

    def own(self) -> FileTemplate | None:
        return self.get_queryset().filter(vendor=self.vendor.key, kind=self.kind).first()

    def get_context_data(self, **kwargs):
        # The URL's vendor and kind (text) give way to what they name.
        kwargs.update(
            vendor=self.vendor, kind=self.kind, file_name=KINDS[(self.vendor.key, self.kind)][0]
        )
        return super().get_context_data(**kwargs)


class FileTemplateEditView(_TemplateMixin, TenantViewMixin, FormView):
    """The customer's template of one file (the shipped one to start from). "Preview"
    renders it for a sample phone; "Save" does too and keeps it only if the phone would
    read the result."""

    form_class = TemplateForm
    template_name = "phones/file_template_form.html"
    page_title = "Edit a phone file template"

    def get_initial(self):
        own = self.own()
        return {"body": own.body if own else shipped_source(self.vendor, self.kind)}

    def get_context_data(self, **kwargs):
        return super().get_context_data(own=self.own(), **kwargs)

    def form_valid(self, form):
        body = form.cleaned_data["body"]
        try:
            if "preview" in self.request.POST:
                preview = template_preview(self.vendor.key, self.kind, body)
                response = self.render_to_response(
                    self.get_context_data(form=form, preview=secret_masked(preview))
                )
                return never_cached(response)
            file_template_save(
                customer=self.customer,
                user=self.request.user,
                vendor_key=self.vendor.key,
                kind=self.kind,
                body=body,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, f"Phones now get {self.vendor.label} files from your template."
        )
        return redirect("phones:files")


class FileTemplateResetView(_TemplateMixin, TenantViewMixin, TemplateView):
    """GET asks for confirmation; POST goes back to the shipped template."""

    template_name = "phones/file_template_confirm_reset.html"
    page_title = "Use the shipped template"

    def get_context_data(self, **kwargs):
        return super().get_context_data(own=self.own(), **kwargs)

    def post(self, request, *args, **kwargs):
        if file_template_delete(
            customer=self.customer, user=request.user, vendor_key=self.vendor.key, kind=self.kind
        ):
            messages.success(request, f"Phones get the shipped {self.vendor.label} file again.")
        return redirect("phones:files")
