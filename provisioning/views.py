"""The Tokens and Bootstraps pages. The rules are in provisioning.services; these views
shape the pages, call the services and show their errors on the right field."""

from __future__ import annotations

import io

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.views.generic import FormView, TemplateView, View

from accounts.permissions import Action, Area
from accounts.views_base import (
    FilteredListMixin,
    TenantObjectMixin,
    TenantViewMixin,
    add_service_errors,
)
from core.errors import InUse, StaleVersion
from core.exports import CsvExportMixin, json_cell
from provisioning.filters import BootstrapFilterSet, TokenFilterSet
from provisioning.forms import SERVICE_FIELDS, BootstrapForm, TokenForm, VersionForm
from provisioning.models import Bootstrap, Token
from provisioning.services.bootstraps import bootstrap_delete, bootstrap_save, parse_parameters
from provisioning.services.tokens import new_token_value, token_delete, token_save
from reports.models import AppId

# --- Bootstraps ------------------------------------------------------------------------


class BootstrapListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.BOOTSTRAPS
    model = Bootstrap
    filterset_class = BootstrapFilterSet
    template_name = "provisioning/bootstrap_list.html"
    page_title = "Bootstraps"
    csv_name = "bootstraps"
    csv_columns = [
        ("Name", lambda b: b.name),
        ("Parameters (JSON)", lambda b: json_cell(b.parameters)),
        ("Tokens", lambda b: b.token_count),
        ("Version", lambda b: b.version),
        ("Updated", lambda b: b.updated),
        ("Created", lambda b: b.created),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # How many tokens use each bootstrap, in the same query as the page.
        return queryset.annotate(token_count=Count("tokens"))


class _BootstrapFormView(TenantObjectMixin, TenantViewMixin, FormView):
    area = Area.BOOTSTRAPS
    action = Action.CHANGE
    model = Bootstrap
    form_class = BootstrapForm
    template_name = "provisioning/bootstrap_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.object}

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        valid = form.is_valid()
        if "convert" in request.POST and not form.has_upload:
            form.add_error("xml_file", "choose an XML settings file to convert")
            return self.form_invalid(form)
        if form.has_upload:
            # Converting an XML file only fills in the parameters for review; saving is
            # a separate, deliberate click.
            if "xml_file" in form.errors:
                return self.form_invalid(form)
            return self.render_to_response(
                self.get_context_data(form=form.review_form(), converted=True)
            )
        return self.form_valid(form) if valid else self.form_invalid(form)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            bootstrap, created = bootstrap_save(
                customer=self.customer,
                user=self.request.user,
                name=data["name"],
                parameters=parse_parameters(data["parameters"]),
                instance=self.object,
                expected_version=data["version"],
                add_only=self.object is None,
            )
        except StaleVersion as exc:
            form.add_error(None, exc.sentence)
            return self.form_invalid(form)
        except ValidationError as exc:
            add_service_errors(form, exc, SERVICE_FIELDS)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Bootstrap {bootstrap.name} {verb}.")
        return redirect("provisioning:bootstrap_list")


class BootstrapCreateView(_BootstrapFormView):
    page_title = "Add bootstrap"


class BootstrapUpdateView(_BootstrapFormView):
    gone_url_name = "provisioning:bootstrap_list"
    page_title = "Edit bootstrap"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class BootstrapDeleteView(TenantObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "provisioning:bootstrap_list"
    area = Area.BOOTSTRAPS
    action = Action.CHANGE
    model = Bootstrap
    template_name = "provisioning/bootstrap_confirm_delete.html"
    page_title = "Delete bootstrap"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.annotate(token_count=Count("tokens"))

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        bootstrap = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This page is out of date; check the bootstrap again.")
            return redirect("provisioning:bootstrap_delete", pk=bootstrap.pk)
        try:
            bootstrap_delete(
                bootstrap=bootstrap,
                user=request.user,
                expected_version=form.cleaned_data["version"],
            )
        except StaleVersion as exc:
            # Show the bootstrap as it is now and let the user decide again.
            messages.error(request, exc.sentence)
            return redirect("provisioning:bootstrap_delete", pk=bootstrap.pk)
        except InUse as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, f"Bootstrap {bootstrap.name} deleted.")
        return redirect("provisioning:bootstrap_list")


# --- Tokens ----------------------------------------------------------------------------


class TokenListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.TOKENS
    model = Token
    filterset_class = TokenFilterSet
    template_name = "provisioning/token_list.html"
    page_title = "Tokens"
    csv_name = "tokens"
    csv_columns = [
        ("Token", lambda t: t.value),
        ("App", lambda t: t.app_id),
        ("Bootstrap", lambda t: t.bootstrap.name),
        ("Description", lambda t: t.description),
        ("Redemptions", lambda t: t.redemption_count),
        ("Max redemptions", lambda t: t.max_redemptions),
        ("Expires", lambda t: t.expires_at),
        ("Revoked", lambda t: "yes" if t.revoked else "no"),
        ("Last redeemed", lambda t: t.last_redeemed),
        ("Updated", lambda t: t.updated),
        ("Created", lambda t: t.created),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get_context_data(self, **kwargs):
        return super().get_context_data(app_ids=AppId.choices, **kwargs)


class _TokenFormView(TenantObjectMixin, TenantViewMixin, FormView):
    area = Area.TOKENS
    action = Action.CHANGE
    model = Token
    form_class = TokenForm
    template_name = "provisioning/token_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "customer": self.customer, "instance": self.object}

    def get_context_data(self, **kwargs):
        has_bootstraps = Bootstrap.objects.for_customer(self.customer).exists()
        return super().get_context_data(has_bootstraps=has_bootstraps, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            token, created = token_save(
                customer=self.customer,
                user=self.request.user,
                value=data["token"],
                app_id=data["app_id"],
                bootstrap=data["bootstrap"],
                description=data["description"],
                expires_at=data["expires_at"],
                max_redemptions=data["max_redemptions"],
                revoked=data["revoked"],
                instance=self.object,
                expected_version=data["version"],
                add_only=self.object is None,
            )
        except StaleVersion as exc:
            form.add_error(None, exc.sentence)
            return self.form_invalid(form)
        except ValidationError as exc:
            add_service_errors(form, exc, SERVICE_FIELDS)
            return self.form_invalid(form)
        verb = "added" if created else "saved"
        messages.success(self.request, f"Token {token.value} {verb}.")
        return redirect("provisioning:token_list")


class TokenCreateView(_TokenFormView):
    page_title = "Add token"

    def get_initial(self):
        # A value nobody can guess, since the token is the device's only credential;
        # the administrator may type their own instead.
        return {"token": new_token_value(self.customer.slug or "token")}


class TokenUpdateView(_TokenFormView):
    gone_url_name = "provisioning:token_list"
    page_title = "Edit token"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)


class TokenDeleteView(TenantObjectMixin, TenantViewMixin, TemplateView):
    gone_url_name = "provisioning:token_list"
    area = Area.TOKENS
    action = Action.CHANGE
    model = Token
    template_name = "provisioning/token_confirm_delete.html"
    page_title = "Delete token"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        token = self.get_object()
        form = VersionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "This page is out of date; check the token again.")
            return redirect("provisioning:token_delete", pk=token.pk)
        try:
            token_delete(
                token=token, user=request.user, expected_version=form.cleaned_data["version"]
            )
        except StaleVersion as exc:
            messages.error(request, exc.sentence)
            return redirect("provisioning:token_delete", pk=token.pk)
        else:
            messages.success(request, f"Token {token.value} deleted.")
        return redirect("provisioning:token_list")


class TokenQrView(TenantObjectMixin, TenantViewMixin, TemplateView):
    """The token's QR code, large enough to print and scan, with its downloads."""

    area = Area.TOKENS
    model = Token
    template_name = "provisioning/token_qr.html"
    page_title = "Token QR code"

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.select_related("bootstrap")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)


QR_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


class TokenQrDownloadView(TenantObjectMixin, TenantViewMixin, View):
    """The QR code as a file: ?format=png (default) or ?format=svg."""

    area = Area.TOKENS
    model = Token

    def get(self, request, *args, **kwargs):
        token = self.get_object()
        kind = request.GET.get("format", "png")
        if kind not in QR_FORMATS:
            return HttpResponseBadRequest("format: choose png or svg")
        buffer = io.BytesIO()
        segno.make(token.value, error="m").save(buffer, kind=kind, scale=10, border=4)
        response = HttpResponse(buffer.getvalue(), content_type=QR_FORMATS[kind])
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{token.value}-qr.{kind}"
        )
        # The token is a device's credential: keep its picture out of shared caches.
        add_never_cache_headers(response)
        return response
