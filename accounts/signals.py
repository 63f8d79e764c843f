"""The one hook accounts offers the apps above it.

accounts is the base of the app order and imports no domain app, yet a new customer
needs things those apps own (its default bootstraps and tokens). `customer_created` is
sent by accounts.services.customer_create inside its transaction, after the customer row
is saved; receivers connect in their AppConfig.ready() and run in that transaction, so a
receiver that fails rolls the customer back too. Receivers get `customer` and `user`.
"""

from django.dispatch import Signal

customer_created = Signal()

# A staff user started acting for a customer: `user`, `customer` and `via` ("portal" when
# they switch in the portal, "api" for ?customer= on the admin API). reports records it.
staff_acting = Signal()
