"""Register phones: rollouts, codes for many portal users at once."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.generic import TemplateView, View

from accounts.filters import UserFilterSet
from accounts.models import User
from accounts.permissions import Action, Area
from accounts.views_base import FilteredListMixin, TenantViewMixin
from core.client import client_ip, public_base_url
from core.exports import CsvExportMixin, csv_response
from phones.files.access import files_base_url
from phones.filters import ProvisioningCodeFilterSet, RolloutFilterSet
from phones.forms import RolloutOptionsForm
from phones.models import Category, CodeState, ProvisioningCode, Rollout
from phones.services.categories import provisioning_categories
from phones.services.codes import ROLLOUT_CODE_LIFETIME, ROLLOUT_MAX_USERS, rollout_create
from phones.views.codes import code_state, code_status
from phones.views.common import error_sentences, never_cached

# A rollout's live refresh asks for at most this many codes at once (a page of them).
STATUS_IDS_MAX = 200


class _RolloutMixin:
    area = Area.PROVISIONING
    action = Action.CHANGE
    page_title = "Register phones"

    def get_rollout(self) -> Rollout:
        return get_object_or_404(
            Rollout.objects.for_customer(self.customer).select_related("category", "created_by"),
            pk=self.kwargs["pk"],
        )


class RolloutListView(
    CsvExportMixin, _RolloutMixin, FilteredListMixin, TenantViewMixin, TemplateView
):
    """Past rollouts, newest first; each reopens its codes (step 4)."""

    model = Rollout
    filterset_class = RolloutFilterSet
    template_name = "phones/rollout_list.html"
    csv_name = "rollouts"
    csv_columns = [
        ("Created", lambda r: r.created),
        ("Category", lambda r: r.category.name),
        ("Phone app", lambda r: r.app_id),
        ("Created by", lambda r: r.created_by.username if r.created_by else ""),
        ("Codes", lambda r: r.code_count),
        ("Registered", lambda r: r.registered_count),
    ]

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        # One join to the codes counts both columns in the page's own query.
        return queryset.select_related("category", "created_by").annotate(
            code_count=Count("codes"),
            registered_count=Count("codes", filter=Q(codes__used_at__isnull=False)),
        )


class RolloutCheckView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 1: what phones need before codes are handed out. Nothing here goes over the
    network: it reads the settings and the customer's data."""

    model = Category
    template_name = "phones/rollout_check.html"

    def get_context_data(self, **kwargs):
        base_url = public_base_url(self.request)
        return super().get_context_data(
            step=1,
            public_url=settings.PUBLIC_URL,
            base_url=base_url,
            device_url=files_base_url(customer=self.customer, base_url=base_url),
            categories=list(provisioning_categories(self.customer)),
            user_count=User.objects.for_customer(self.customer).filter(is_active=True).count(),
            **kwargs,
        )


class RolloutOptionsView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 2: the provisioning category and the phone app. The form goes to step 3 by
    GET, so Back and Forward keep the choice."""

    model = Category
    template_name = "phones/rollout_options.html"

    def get_context_data(self, **kwargs):
        form = RolloutOptionsForm(customer=self.customer, initial=self.request.GET.dict())
        categories = list(form.fields["category"].queryset)
        return super().get_context_data(step=2, form=form, categories=categories, **kwargs)


def _selected_ids(data) -> set[int]:
    chosen = set()
    for value in data.getlist("users")[: ROLLOUT_MAX_USERS + 1]:
        try:
            chosen.add(int(value))
        except ValueError:
            continue
    return chosen


class RolloutUsersView(_RolloutMixin, TenantViewMixin, TemplateView):
    """Step 3: choose portal users, then create the rollout.

    One POST form carries the whole choice: the boxes ticked on this page, the ones ticked
    on other pages (hidden fields), and "all users matching the search", which sends the
    search rather than thousands of IDs. Search and paging buttons post the form too, so
    nothing ticked is lost on the way; GET shows the first page."""

    model = User
    template_name = "phones/rollout_users.html"
    paginate_by = 50

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(is_active=True)

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(data=request.GET))

    def post(self, request, *args, **kwargs):
        data = request.POST
        if data.get("go") != "create":
            return self.render_to_response(self.get_context_data(data=data))
        return self.create(data)

    def matching(self, search: str) -> QuerySet:
        filterset = UserFilterSet({"q": search}, queryset=self.get_queryset())
        filterset.is_valid()
        return filterset.qs.order_by("username", "pk")

    def get_context_data(self, *, data, errors=(), **kwargs):
        options = RolloutOptionsForm(data, customer=self.customer)
        options.is_valid()
        search = data.get("q", "").strip()
        users = self.matching(search)
        page = Paginator(users, self.paginate_by).get_page(data.get("page"))
        rows = list(page.object_list)
        selected = _selected_ids(data)
        on_page = {u.pk for u in rows}
        select_all = data.get("all") == "1"
        if select_all:
            selected_count = page.paginator.count
        elif selected:
            # Only the IDs that are still this customer's active users count.
            selected_count = self.get_queryset().filter(pk__in=selected).count()
        else:
            selected_count = 0
        return super().get_context_data(
            step=3,
            options=options,
            category=options.cleaned_data.get("category"),
            app_id=options.cleaned_data.get("app_id", ""),
            search=search,
            page_obj=page,
            object_list=rows,
            selected=selected & on_page,
            carried=sorted(selected - on_page),
            select_all=select_all,
            selected_count=selected_count,
            errors=errors,
            **kwargs,
        )

    def create(self, data):
        options = RolloutOptionsForm(data, customer=self.customer)
        if not options.is_valid():
            return self.render_to_response(self.get_context_data(data=data))
        shown = data.get("shown_q", "").strip()
        if data.get("all") == "1":
            if data.get("q", "").strip() != shown:
                return self.render_to_response(
                    self.get_context_data(
                        data=data,
                        errors=[
                            "The search changed since the list was shown: check who matches "
                            "now, then create the rollout."
                        ],
                    )
                )
            users = self.matching(shown)
        else:
            users = self.get_queryset().filter(pk__in=_selected_ids(data)).order_by("pk")
        # Only the key goes to the service: a rollout of 10,000 users loads no more.
        chosen = list(users.only("pk", "customer_id")[: ROLLOUT_MAX_USERS + 1])
        try:
            rollout = rollout_create(
                customer=self.customer,
                user=self.request.user,
                category=options.cleaned_data["category"],
                users=chosen,
                app_id=options.cleaned_data["app_id"],
                ip_address=client_ip(self.request) or None,
            )
        except ValidationError as exc:
            return self.render_to_response(
                self.get_context_data(data=data, errors=error_sentences(exc))
            )
        messages.success(
            self.request,
            f"{len(chosen)} provisioning code(s) created, valid for "
            f"{ROLLOUT_CODE_LIFETIME.days} days.",
        )
        return redirect("phones:rollout_detail", pk=rollout.pk)


class _RolloutCodesMixin(_RolloutMixin):
    model = ProvisioningCode
    rollout = None

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(rollout=self.rollout).select_related("user", "device")


class RolloutDetailView(_RolloutCodesMixin, FilteredListMixin, TenantViewMixin, TemplateView):
    """Step 4: the rollout's codes with their state, refreshed live; CSV download."""

    filterset_class = ProvisioningCodeFilterSet
    template_name = "phones/rollout_detail.html"

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        return never_cached(super().get(request, *args, **kwargs))

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().refine_queryset(queryset).order_by("user__username")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        rows = list(context["object_list"])
        for code in rows:
            code.current_state = code_state(code, now)
        totals = self.rollout.codes.aggregate(
            total=Count("pk"),
            registered=Count("pk", filter=Q(used_at__isnull=False)),
            expired=Count("pk", filter=Q(used_at__isnull=True, expires_at__lte=now)),
        )
        totals["pending"] = totals["total"] - totals["registered"] - totals["expired"]
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            step=4,
            rollout=self.rollout,
            object_list=rows,
            totals=totals,
            states=CodeState.choices,
            csv_query=query.urlencode(),
        )
        return context


class RolloutStatusView(_RolloutCodesMixin, TenantViewMixin, View):
    """The state of some of a rollout's codes (?ids=1,2,3: the page shown) and the
    rollout's totals, as JSON for step 4's live refresh."""

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        ids = []
        for value in request.GET.get("ids", "").split(",")[:STATUS_IDS_MAX]:
            if value.strip().isdigit():
                ids.append(int(value))
        now = timezone.now()
        codes = self.get_queryset().filter(pk__in=ids) if ids else []
        totals = self.rollout.codes.aggregate(
            total=Count("pk"),
            registered=Count("pk", filter=Q(used_at__isnull=False)),
            expired=Count("pk", filter=Q(used_at__isnull=True, expires_at__lte=now)),
        )
        totals["pending"] = totals["total"] - totals["registered"] - totals["expired"]
        return never_cached(
            JsonResponse(
                {
                    "codes": [code_status(code, now) for code in codes],
                    "totals": totals,
                }
            )
        )


class RolloutCsvView(_RolloutCodesMixin, TenantViewMixin, View):
    """The rollout's codes as CSV (the page's search and sort apply), streamed."""

    def get(self, request, *args, **kwargs):
        self.rollout = self.get_rollout()
        queryset = self.get_queryset().order_by("user__username")
        filterset = ProvisioningCodeFilterSet(request.GET, queryset=queryset)
        codes = filterset.qs if filterset.is_valid() else queryset.none()
        now = timezone.now()

        def rows():
            for code in codes.iterator(chunk_size=1000):
                user = code.user
                yield [
                    user.username if user else "",
                    user.name if user else "",
                    code.code,
                    code_state(code, now).label,
                    code.expires_at,
                ]

        response = csv_response(
            f"rollout-{self.rollout.pk}-codes.csv",
            ["user", "name", "code", "state", "expires"],
            rows(),
        )
        return never_cached(response)
