"""The hooks accounts offers the apps above it.

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

# A portal user was added, changed or deleted. Sent by accounts.services inside its
# transaction with `user` (for "deleted", the instance as it was), `acting_user` (who did
# it: a portal user, staff, or None for a command), `change` ("added", "updated",
# "deleted") and `changes` ({field: [before, after]}; a new password appears as
# ["", "changed"], never its value). reports records it in the audit log.
portal_user_changed = Signal()

# Somebody asked for a password reset link for `user` (`stage` "requested", with the
# client address `ip`), or set a new password with it (`stage` "completed"). Sent by the
# password reset views; reports records both.
password_reset = Signal()
