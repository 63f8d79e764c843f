"""The customer page (System > Customer) with its ZTP card, the card's actions, and the list
of phones registered with each vendor. The rules are in ztp.services; these views shape the
pages, call the services and show their refusals.

The customer page is every role's (it shows the acting customer); the ZTP card and
everything under it are for the customer's Super-Admins and staff only. The page is mounted
in the accounts namespace by config/urls.py (accounts may not import ztp; ztp may import
accounts), as provisioning's device page is mounted in the devices namespace.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import TemplateView, View

from accounts.permissions import Action, Area, can
from accounts.views_base import FilteredListMixin, PortalView, PostOnlyMixin, TenantViewMixin
from core.client import public_base_url
from core.errors import ServiceError
from devices.services import mac_display
from phones.files.access import files_base_url
from ztp.adapters import adapter_for
from ztp.filters import ZtpPhoneFilterSet
from ztp.forms import PhoneBulkForm, PhoneForm
from ztp.models import Action as ZtpAction
from ztp.models import Vendor, ZtpPhone
from ztp.services.card import (
    ztp_account_state,
    ztp_card,
    ztp_card_row,
    ztp_check,
    ztp_disable,
    ztp_key_change,
    ztp_onboard,
    ztp_repair,
    ztp_rotate,
)
from ztp.services.common import DONE
from ztp.services.phones import (
    ztp_phone_import,
    ztp_phone_lookup,
    ztp_phone_register,
    ztp_phone_remove_many,
    ztp_phone_remove_plan,
)

# Who drives ZTP: the customer's Super-Admins and staff (accounts.permissions).
ZTP_AREA = Area.ZTP

# Each action's button class and the question asked before it runs ("" asks nothing:
# entering an API key and pressing the button is deliberate enough).
CARD_ACTIONS = {
    ZtpAction.ONBOARD: ("primary", ""),
    ZtpAction.ROTATE: (
        "",
        "Give {customer} a new phone file URL and register it at {vendor}? The previous URL "
        "keeps working for 30 days, so phones in the field move over on their next fetch; "
        "other vendors then need Repair.",
    ),
    ZtpAction.KEY: ("", ""),
    ZtpAction.DISABLE: (
        "danger",
        "Disable {vendor} for {customer}? Its phones are removed at the vendor and the API "
        "key is forgotten here. Other vendors are untouched.",
    ),
    ZtpAction.CHECK: ("", ""),
    ZtpAction.REPAIR: ("primary", ""),
}
# The actions that take an API key, entered in their form.
KEY_ACTIONS = {ZtpAction.ONBOARD, ZtpAction.KEY}
KEY_FIELD_LABELS = {"key_id": "API key ID", "secret": "Secret"}


def can_manage_ztp(user) -> bool:
    return can(user, ZTP_AREA, Action.CHANGE)


def card_context(customer, *, notice=None, confirm=None) -> dict:
    """What templates/ztp/includes/card.html needs: stored state only, two queries."""
    rows = []
    for row in ztp_card(customer):
        actions = []
        for name in row.actions:
            css, question = CARD_ACTIONS[name]
            actions.append(
                {
                    "name": name,
                    "label": ZtpAction(name).label,
                    "css": css,
                    "confirm": question.format(vendor=row.label, customer=customer.name),
                    "asking": confirm == (row.vendor, name),
                    "takes_key": name in KEY_ACTIONS,
                    # Rotate changes the phone file URL shown above the card.
                    "whole_page": name == ZtpAction.ROTATE,
                }
            )
        rows.append(
            {
                "row": row,
                "account": row.account,
                "actions": actions,
                "key_help": adapter_for(row.vendor).key_help,
            }
        )
    return {"ztp_rows": rows, "ztp_notice": notice}


class CustomerDetailView(PortalView, TemplateView):
    """System > Customer: the acting customer; for Super-Admins and staff, its ZTP card."""

    area = Area.DASHBOARD
    template_name = "ztp/customer_detail.html"
    page_title = "Customer"

    def get_context_data(self, **kwargs):
        card = kwargs.pop("card", {})
        context = super().get_context_data(**kwargs)
        customer = self.customer
        context.update(
            device_url=files_base_url(customer=customer, base_url=public_base_url(self.request)),
            public_url=settings.PUBLIC_URL,
            ztp_rows=None,
            can_edit_settings=can(self.request.user, Area.CUSTOMER, Action.CHANGE),
        )
        if can_manage_ztp(self.request.user):
            context.update(card_context(customer, **card))
        return context


class ZtpActionView(PostOnlyMixin, PortalView, View):
    """Onboard, Change API key, Rotate, Disable, Check now or Repair, for one vendor. The
    card's script posts with `confirmed=1` and gets the card back; without the script, the
    first POST of an action that asks shows the confirmation, and the result comes back on
    the customer page. An action the card does not offer now (Rotate before Onboard) is run
    at once, so its refusal is shown."""

    area = ZTP_AREA
    action = Action.CHANGE

    @method_decorator(sensitive_post_parameters("secret"))
    def post(self, request, vendor: str, name: str):
        if vendor not in Vendor.values or name not in CARD_ACTIONS:
            raise Http404
        partial = request.headers.get("X-Requested-With") == "fetch"
        asks = CARD_ACTIONS[name][1] and request.POST.get("confirmed") != "1" and not partial
        if asks and name in ztp_card_row(self.customer, vendor).actions:
            return self._page(card={"confirm": (vendor, name)})
        notice = self._run(vendor, name)
        if partial:
            response = render(
                request,
                "ztp/includes/card.html",
                {**card_context(self.customer, notice=notice), "customer": self.customer},
            )
            add_never_cache_headers(response)
            return response
        level = {"error": messages.ERROR, "warning": messages.WARNING}.get(
            notice["level"], messages.SUCCESS
        )
        messages.add_message(request, level, notice["text"])
        return redirect(reverse("ztp:customer_detail") + "#ztp")

    def _run(self, vendor: str, name: str) -> dict:
        common = {"customer": self.customer, "vendor": vendor, "user": self.request.user}
        key = {
            "key_id": self.request.POST.get("key_id", ""),
            "secret": self.request.POST.get("secret", ""),
        }
        try:
            if name == ZtpAction.ONBOARD:
                outcome = ztp_onboard(**common, base_url=public_base_url(self.request), **key)
            elif name == ZtpAction.KEY:
                outcome = ztp_key_change(**common, **key)
            elif name == ZtpAction.ROTATE:
                outcome = ztp_rotate(**common)
            elif name == ZtpAction.DISABLE:
                outcome = ztp_disable(**common)
            elif name == ZtpAction.REPAIR:
                outcome = ztp_repair(**common)
            else:
                outcome = ztp_check(**common)
        except ServiceError as exc:
            # The key's ID is offered again (never the secret), to mend a typo.
            return {"level": "error", "text": exc.detail, "vendor": vendor, "key_id": key["key_id"]}
        except ValidationError as exc:
            text = "; ".join(
                f"{KEY_FIELD_LABELS.get(field, field)}: {' '.join(problems)}"
                for field, problems in exc.message_dict.items()
            )
            return {
                "level": "error",
                "text": f"Not sent to the vendor: {text}.",
                "vendor": vendor,
                "key_id": key["key_id"][:200],
            }
        # A drift found is shown in its own box on the row: the notice would repeat it.
        level = "warning" if name == ZtpAction.CHECK and outcome.account.drift else "success"
        return {"level": level, "text": outcome.message, "vendor": vendor}

    def _page(self, **kwargs):
        view = CustomerDetailView()
        view.setup(self.request)
        view.customer = self.customer
        return view.render_to_response(view.get_context_data(**kwargs))


# --- phones -------------------------------------------------------------------------------


def _vendor_of(request, source) -> str:
    vendor = source.get("vendor") or Vendor.SNOM
    if vendor not in Vendor.values:
        raise Http404
    return vendor


def _list_url(vendor: str) -> str:
    return f"{reverse('ztp:phone_list')}?{urlencode({'vendor': vendor})}"


class ZtpPhoneListView(FilteredListMixin, TenantViewMixin, TemplateView):
    """One vendor's registered phones of the customer (?vendor=), with add, remove, look up
    and CSV import. Rendered from stored state: no vendor call."""

    area = ZTP_AREA
    model = ZtpPhone
    filterset_class = ZtpPhoneFilterSet
    template_name = "ztp/phone_list.html"
    page_title = "ZTP phones"
    paginate_by = 50

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.vendor = _vendor_of(request, request.GET)

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(vendor=self.vendor)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = dict(
            self.scope().values("vendor").annotate(n=Count("pk")).values_list("vendor", "n")
        )
        account = ztp_account_state(self.customer, self.vendor)
        context.update(
            vendor=self.vendor,
            vendor_label=Vendor(self.vendor).label,
            account=account,
            tabs=[
                {"vendor": v.value, "label": v.label, "count": counts.get(v.value, 0)}
                for v in Vendor
            ],
            add_form=PhoneForm(),
            bulk_form=PhoneBulkForm(),
        )
        return context


class _PhoneActionView(PostOnlyMixin, PortalView, View):
    area = ZTP_AREA
    action = Action.CHANGE

    def post(self, request):
        vendor = _vendor_of(request, request.POST)
        try:
            text = self.run(vendor)
        except ValidationError as exc:
            messages.error(request, " ".join(_sentences(exc)))
        except ServiceError as exc:
            messages.error(request, exc.detail)
        else:
            messages.success(request, text)
        return redirect(_list_url(vendor))

    def common(self, vendor: str) -> dict:
        return {"customer": self.customer, "vendor": vendor, "user": self.request.user}


class ZtpPhoneAddView(_PhoneActionView):
    def run(self, vendor: str) -> str:
        form = PhoneForm(self.request.POST)
        if not form.is_valid():
            raise ValidationError({"mac": list(form.errors.get("mac", ["enter a MAC address"]))})
        outcome = ztp_phone_register(**self.common(vendor), mac=form.cleaned_data["mac"])
        return outcome.message


class ZtpPhoneLookupView(_PhoneActionView):
    def run(self, vendor: str) -> str:
        mac = self.request.POST.get("mac", "")
        return ztp_phone_lookup(**self.common(vendor), mac=mac).message


class ZtpPhoneBulkView(PostOnlyMixin, PortalView, View):
    """Register or remove many MACs (pasted or a CSV file) and show what happened to each;
    a removal asks first. A row's Remove comes here too, with one MAC."""

    area = ZTP_AREA
    action = Action.CHANGE

    def post(self, request):
        vendor = _vendor_of(request, request.POST)
        form = PhoneBulkForm(request.POST, request.FILES)
        if not form.is_valid():
            errors = [
                f"{key}: {' '.join(value)}" if key != "__all__" else " ".join(value)
                for key, value in form.errors.items()
            ]
            messages.error(request, " ".join(errors))
            return redirect(_list_url(vendor))
        text, op = form.cleaned_data["text"], form.cleaned_data["op"]
        common = {"customer": self.customer, "vendor": vendor, "user": request.user}
        try:
            if op == "remove" and not form.cleaned_data["confirmed"]:
                return self._confirm(vendor, text)
            run = ztp_phone_remove_many if op == "remove" else ztp_phone_import
            result = run(**common, text=text)
        except ValidationError as exc:
            messages.error(request, " ".join(_sentences(exc)))
            return redirect(_list_url(vendor))
        except ServiceError as exc:
            messages.error(request, exc.detail)
            return redirect(_list_url(vendor))
        label = Vendor(vendor).label
        if len(result.lines) == 1:  # one phone: its sentence on the list
            (line,) = result.lines
            if line.outcome == DONE:
                messages.success(request, f"{label}: {line.mac_display} {result.verb}.")
            else:
                what = f"{line.mac_display}: " if line.mac else ""
                messages.error(request, f"{label}: {what}{line.detail}")
            return redirect(_list_url(vendor))
        context = {
            "vendor": vendor,
            "vendor_label": label,
            "result": result,
            "page_title": f"ZTP phones {result.verb}",
        }
        return render(request, "ztp/phone_bulk_result.html", context)

    def _confirm(self, vendor: str, text: str):
        macs, left = ztp_phone_remove_plan(customer=self.customer, vendor=vendor, text=text)
        context = {
            "vendor": vendor,
            "vendor_label": Vendor(vendor).label,
            "macs": [mac_display(mac) for mac in macs],
            "left": left,
            "text": text,
            "page_title": "Remove ZTP phones",
        }
        return render(self.request, "ztp/phone_confirm_remove.html", context)


def _sentences(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{key}: {' '.join(value)}" for key, value in error.message_dict.items()]
    return list(error.messages)
