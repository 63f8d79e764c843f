from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView

from accounts import services
from accounts.filters import UserFilterSet
from accounts.forms import (
    CustomerSettingsForm,
    CustomerSwitchForm,
    EmailPasswordResetForm,
    LoginForm,
    PortalUserForm,
    VersionForm,
)
from accounts.models import Customer, User
from accounts.permissions import Action, Area
from accounts.signals import password_reset
from accounts.tenancy import SESSION_KEY, staff_acting_record
from accounts.views_base import FilteredListMixin, PortalView, TenantViewMixin, add_service_errors
from core.client import client_ip
from core.errors import StaleVersion
from core.exports import CsvExportMixin


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Signs out, then the login page says so (the message outlives the session: it is
    stored after the session is flushed)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have signed out.")
        return response


def favicon(request):
    """/favicon.ico, which browsers ask for on their own; the pages name the SVG."""
    response = FileResponse(
        open(finders.find("favicon.ico"), "rb"),  # noqa: SIM115 (FileResponse closes it)
        content_type="image/x-icon",
    )
    response["Cache-Control"] = "public, max-age=86400"
    return response


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    form_class = EmailPasswordResetForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def form_valid(self, form):
        response = super().form_valid(form)
        # For the audit log: the users a link went to (the page says the same either way).
        for user in form.get_users(form.cleaned_data["email"]):
            password_reset.send(
                sender=User, user=user, stage="requested", ip=client_ip(self.request)
            )
        return response


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        password_reset.send(sender=User, user=form.user, stage="completed", ip=None)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class UserListView(CsvExportMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    area = Area.USERS
    model = User
    filterset_class = UserFilterSet
    template_name = "accounts/user_list.html"
    page_title = "Portal Users"
    csv_name = "portal-users"
    csv_columns = [
        ("User Role", lambda u: u.get_role_display()),
        ("User Name", lambda u: u.name),
        ("Login Name", lambda u: u.username),
        ("Email", lambda u: u.email),
        ("Active", lambda u: "yes" if u.is_active else "no"),
        ("Last login", lambda u: u.last_login),
    ]


class UserCreateView(TenantViewMixin, FormView):
    area = Area.USERS
    action = Action.CHANGE
    model = User
    form_class = PortalUserForm
    template_name = "accounts/user_form.html"
    page_title = "Add portal user"

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            user = services.portal_user_create(
                customer=self.customer,
                username=data["username"],
                name=data["name"],
                email=data["email"],
                role=data["role"],
                password=data["password"],
                acting_user=self.request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Portal user {user.username} added.")
        return redirect("accounts:user_list")


class UserUpdateView(TenantViewMixin, FormView):
    area = Area.USERS
    gone_url_name = "accounts:user_list"
    action = Action.CHANGE
    model = User
    form_class = PortalUserForm
    template_name = "accounts/user_form.html"
    page_title = "Edit portal user"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = self.object
        return kwargs

    def get(self, request, *args, **kwargs):
        self.object = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.portal_user_update(
                user=self.object,
                name=data["name"],
                email=data["email"],
                role=data["role"],
                password=data["password"],
                acting_user=self.request.user,
                expected_version=data["version"],
            )
        except StaleVersion as exc:
            # Someone saved this user meanwhile: nothing is written, and the page says so
            # with a 409, as the token and bootstrap pages do.
            form.add_error(None, exc.sentence)
            response = self.form_invalid(form)
            response.status_code = 409
            return response
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Portal user {self.object.username} saved.")
        return redirect("accounts:user_list")

    def get_context_data(self, **kwargs):
        reload_url = reverse("accounts:user_edit", args=[self.object.pk])
        return super().get_context_data(object=self.object, reload_url=reload_url, **kwargs)


class UserDeleteView(TenantViewMixin, TemplateView):
    area = Area.USERS
    gone_url_name = "accounts:user_list"
    action = Action.CHANGE
    model = User
    template_name = "accounts/user_confirm_delete.html"
    page_title = "Delete portal user"

    def get(self, request, *args, **kwargs):
        self.object = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        user = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        version = VersionForm(request.POST)
        expected = version.cleaned_data["version"] if version.is_valid() else None
        try:
            services.portal_user_delete(
                user=user, acting_user=request.user, expected_version=expected
            )
        except StaleVersion as exc:
            # Changed since the confirmation was shown: show it again as it is now.
            messages.error(request, exc.sentence)
            return redirect("accounts:user_delete", pk=user.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Portal user {user.username} deleted.")
        return redirect("accounts:user_list")

    def get_context_data(self, **kwargs):
        return super().get_context_data(object=self.object, **kwargs)


class CustomerSwitchView(PortalView, TemplateView):
    """Staff pick the customer they act for in the portal."""

    area = Area.DASHBOARD
    staff_only = True
    needs_customer = False
    template_name = "accounts/customer_switch.html"
    page_title = "Choose customer"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["customers"] = Customer.objects.order_by("name")
        context["next"] = self._next_url()
        return context

    def post(self, request, *args, **kwargs):
        form = CustomerSwitchForm(request.POST)
        if not form.is_valid():
            messages.error(request, "customer: choose one of the listed customers.")
            return redirect("accounts:customer_switch")
        customer = form.cleaned_data["customer"]
        request.session[SESSION_KEY] = customer.pk
        staff_acting_record(user=request.user, customer=customer, via="portal")
        messages.success(request, f"Now acting for {customer.name}.")
        return redirect(self._next_url())

    def _next_url(self) -> str:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if url_has_allowed_host_and_scheme(candidate, allowed_hosts={self.request.get_host()}):
            return candidate
        return reverse("reports:dashboard")


class CustomerSettingsView(PortalView, FormView):
    """System > Customer > Edit: the acting customer's time zone (Super-Admins, staff)."""

    area = Area.CUSTOMER
    action = Action.CHANGE
    form_class = CustomerSettingsForm
    template_name = "accounts/customer_settings.html"
    page_title = "Customer settings"

    def get_initial(self):
        return {"time_zone": self.customer.time_zone}

    def form_valid(self, form):
        try:
            services.customer_update(
                customer=self.customer,
                user=self.request.user,
                time_zone=form.cleaned_data["time_zone"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, f"Saved: times are shown in {self.customer.time_zone}.")
        return redirect("ztp:customer_detail")
