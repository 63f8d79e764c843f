"""Base classes every portal view derives from: login, role check and tenant scoping.

`PortalView` checks the role against the view's declared `area` and `action`.
`TenantViewMixin` additionally owns `get_queryset()`; subclasses refine it through
`refine_queryset()` and cannot replace it, so no portal page forgets the customer.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.views.generic import TemplateView

from accounts.permissions import Action, Area, can
from accounts.tenancy import ScopedQuerysetMixin, request_customer


class PortalView(AccessMixin):
    """Every portal page: signed in, allowed by role, acting for a customer."""

    area: str = ""
    action: str = Action.VIEW
    # Pages that make sense without a customer (staff's customer picker) set this False.
    needs_customer: bool = True
    # Pages for the vendor's support team only; everyone else gets 404.
    staff_only: bool = False
    # Edit and delete pages name their list: a change sent for an object that no longer
    # exists (deleted in another tab, or by someone else) lands there with a banner.
    gone_url_name: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not self.area:
            raise ImproperlyConfigured(f"{type(self).__name__} declares no area")
        # The support team's pages do not exist for anyone else.
        if self.staff_only and not request.user.is_staff:
            raise Http404
        # An area the role may not open is a 403 page that says so: the menu never links
        # there, and the person who followed an old link learns why. (Another customer's
        # object is still a 404: ScopedQuerysetMixin never finds it.)
        if not can(request.user, self.area, Action.VIEW):
            raise PermissionDenied(
                f"Your role ({_role_name(request.user)}) may not open "
                f"{AREA_NAMES.get(self.area, self.area)}. A Super-Admin of your "
                "organisation can change your role under System > Portal Users."
            )
        if self.action != Action.VIEW and not can(request.user, self.area, self.action):
            raise PermissionDenied(
                f"Your role ({_role_name(request.user)}) may look at "
                f"{AREA_NAMES.get(self.area, self.area)} but not change it."
            )
        self.customer = request_customer(request)
        if self.needs_customer and self.customer is None:
            # Only staff can get here: they choose whom they act for first.
            switch_url = reverse("accounts:customer_switch")
            return redirect(f"{switch_url}?{urlencode({'next': request.get_full_path()})}")
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:
            gone = self._gone_redirect(request, kwargs)
            if gone is None:
                raise
            return gone

    def _gone_redirect(self, request, kwargs):
        """A POST (a second Delete, a Save) for an object that exists nowhere any more is
        answered on the list page: "… no longer exists". Another customer's object still
        answers 404, so nothing about it is confirmed; what the difference tells is only
        that some row once had this number."""
        model = getattr(self, "model", None)
        if request.method != "POST" or not self.gone_url_name or model is None:
            return None
        if "pk" not in kwargs or model._base_manager.filter(pk=kwargs["pk"]).exists():
            return None
        name = model._meta.verbose_name
        messages.warning(
            request,
            f"This {name} no longer exists: it was deleted, perhaps in another tab or by "
            "someone else. Nothing was changed.",
        )
        return redirect(self.gone_url_name)

    @property
    def can_change(self) -> bool:
        return can(self.request.user, self.area, Action.CHANGE)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_change"] = self.can_change
        context["page_title"] = getattr(self, "page_title", "")
        return context


# How the refusals name an area, after the menu.
AREA_NAMES = {
    Area.DASHBOARD: "the dashboard",
    Area.TOKENS: "Tokens",
    Area.BOOTSTRAPS: "Bootstraps",
    Area.REPORTS: "Reports",
    Area.LICENSES: "Licenses",
    Area.SITES: "Sites",
    Area.DEVICES: "Devices",
    Area.USERS: "Portal Users",
    Area.PHONES: "Add a phone",
    Area.PROVISIONING: "phone provisioning (categories, update jobs, registration)",
    Area.ZTP: "zero-touch provisioning",
    Area.CUSTOMER: "the customer's settings",
}


def _role_name(user) -> str:
    return user.get_role_display() or ("Support" if user.is_staff else "none")


class PostOnlyMixin:
    """A button's target: any other method is 405 for everyone, signed in or not."""

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)


class TenantViewMixin(ScopedQuerysetMixin, PortalView):
    """A portal page over the acting customer's rows (see ScopedQuerysetMixin)."""


class PlaceholderView(PortalView, TemplateView):
    """A page whose content a later release fills; shows a helpful empty state."""

    template_name = "placeholder.html"
    empty_title = ""
    empty_text = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["empty_title"] = self.empty_title
        context["empty_text"] = self.empty_text
        return context


class CappedPaginator(Paginator):
    """Pages through the first `cap` rows only, so a table of millions costs a bounded
    COUNT (over at most cap + 1 rows). Past the cap the page says so and asks for a
    narrower search, as search engines do."""

    def __init__(self, *args, cap: int, **kwargs):
        self.cap = cap
        super().__init__(*args, **kwargs)

    @cached_property
    def _seen(self) -> int:
        # Without the ORDER BY: counting needs no sort.
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._seen, self.cap)

    @property
    def capped(self) -> bool:
        return self._seen > self.cap


class FilteredListMixin:
    """A list page driven by the model's FilterSet (shared with the API) and paged.
    Pages over tables that grow without bound (History, Events) set `count_cap`."""

    filterset_class = None
    paginate_by = 25
    max_page_size = 200
    count_cap: int | None = None

    def get_context_data(self, **kwargs):
        filterset = self.filterset_class(self.request.GET, queryset=self.get_queryset())
        queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
        if self.count_cap is None:
            paginator = Paginator(queryset, self._page_size())
        else:
            paginator = CappedPaginator(queryset, self._page_size(), cap=self.count_cap)
        page = paginator.get_page(self.request.GET.get("page"))
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            filterset=filterset,
            page_obj=page,
            object_list=page.object_list,
            querystring=query.urlencode(),
            ordering=self.request.GET.get("ordering", ""),
        )
        return context

    def _page_size(self) -> int:
        try:
            size = int(self.request.GET.get("pageSize", self.paginate_by))
        except ValueError:
            return self.paginate_by
        return min(max(size, 1), self.max_page_size)


class TenantObjectMixin:
    """Detail, edit, delete and QR pages: the object comes from the tenant queryset, so
    another customer's pk is a 404."""

    object = None

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(object=self.object, **kwargs)


def add_service_errors(form, error: ValidationError, renamed: dict | None = None) -> None:
    """Show a service's ValidationError on the form field it names; `renamed` maps the
    services' (API) field names to the form's."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        field = (renamed or {}).get(field, field)
        form.add_error(field if field in form.fields else None, messages_)
