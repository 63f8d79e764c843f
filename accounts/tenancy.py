"""Which customer a request acts for. Portal views, API views and templates all ask here."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Customer, User
from accounts.signals import staff_acting

# Staff pick the customer they act for; the portal keeps the choice in the session.
SESSION_KEY = "acting_customer_id"


def acting_customer(user: User, *, session=None, slug: str | None = None) -> Customer | None:
    """The customer `user` acts for: their own, or for staff the one they picked
    (by session in the portal, by `?customer=<slug>` in the API)."""
    if not user.is_authenticated:
        return None
    if not user.is_staff:
        return user.customer
    if slug:
        return Customer.objects.filter(slug=slug).first()
    if session is not None and session.get(SESSION_KEY):
        return Customer.objects.filter(pk=session[SESSION_KEY]).first()
    return None


def request_customer(request: HttpRequest) -> Customer | None:
    """Cached per request, so the lookup runs once however many views and templates ask."""
    if not hasattr(request, "_acting_customer"):
        request._acting_customer = acting_customer(request.user, session=request.session)
    return request._acting_customer


def staff_acting_record(*, user: User, customer: Customer, via: str) -> None:
    """A staff user starts acting for `customer` (the audit log records who, whom, when)."""
    staff_acting.send(sender=User, user=user, customer=customer, via=via)


class ScopedQuerysetMixin:
    """Owns `get_queryset()` for every portal view, API view and license list: the rows
    of `scope()` (the acting customer's, `self.customer`) narrowed by `refine_queryset()`.
    A subclass that defines get_queryset() fails at import, so none can forget the
    customer; another customer's object is therefore a 404, never a 403."""

    model = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(
                f"{cls.__name__} overrides get_queryset(); override refine_queryset() instead"
            )

    def get_queryset(self) -> QuerySet:
        # Schema generation (drf-spectacular) has no real user or customer.
        if getattr(self, "swagger_fake_view", False):
            return self.model.objects.none()
        return self.refine_queryset(self.scope())

    def scope(self) -> QuerySet:
        return self.model.objects.for_customer(self.customer)

    def refine_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset


class StaffScopeMixin(ScopedQuerysetMixin):
    """The lists where staff may read every customer's rows at once (the license lists,
    History and Events; pages, CSV exports and the API): `scope()` is
    `for_customer(listed_customer)` unless a staff user lists all customers. A portal
    user's `listed_customer` is always their own customer. The view sets the two per
    request with `scope_from_query()` (pages) or `scope_from_customer()` (API)."""

    listed_customer = None
    all_customers: bool = False
    customer_slug: str = ""

    def scope(self) -> QuerySet:
        if self.all_customers and self.request.user.is_staff:
            return self.model.objects.all()
        return self.model.objects.for_customer(self.listed_customer)

    def scope_from_query(self) -> None:
        """Pages: a portal user's own customer's rows; staff name one with
        ?customer=<slug> (an unknown slug lists nothing, and says so, never everything)
        or list every customer's."""
        self.customer_slug = ""
        if not self.request.user.is_staff:
            self.listed_customer = self.customer
            return
        self.customer_slug = self.request.GET.get("customer", "").strip()
        if self.customer_slug:
            self.listed_customer = Customer.objects.filter(slug=self.customer_slug).first()
        else:
            self.all_customers = True

    def scope_from_customer(self) -> None:
        """The API: the acting customer's rows; only staff get here without one (the API
        views' resolve_customer), and then they list every customer's."""
        self.listed_customer = self.customer
        self.all_customers = self.customer is None
