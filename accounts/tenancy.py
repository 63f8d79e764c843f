"""Which customer a request acts for. Portal views, API views and templates all ask here."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Customer, User

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
