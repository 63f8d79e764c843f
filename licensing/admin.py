"""Support's view of the license pool. Entitlements come from the back end and
assignments from devices, so both are read-only here: a hand edit would be overwritten by
the next sync or would bypass the rules in licensing.services. The Customer admin gets
"Sync entitlements now": licensing registers accounts' CustomerAdmin again with it, so
accounts.admin needs no import of licensing."""

from django.contrib import admin, messages

from accounts import admin as accounts_admin
from accounts.admin import ReadOnlyAdmin, acts_as_staff
from accounts.models import Customer
from licensing.models import Assignment, Entitlement, ExpiryNotice
from licensing.sync import SyncNotQueued, entitlement_sync_queue


class ExpiryNoticeInline(admin.TabularInline):
    model = ExpiryNotice
    extra = 0
    fields = ["days_before", "sent_at"]
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return acts_as_staff(request)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "license_type",
        "activation_id",
        "term",
        "total",
        "used",
        "expiration",
        "current_state",
        "verified_at",
    ]
    list_filter = ["state", "license_type", "customer"]
    # Staff look lines up by the full activation ID the back end or the customer quotes.
    search_fields = ["activation_id", "customer__name", "customer__slug", "term"]
    list_select_related = ["customer"]
    ordering = ["customer__name", "expiration", "pk"]
    inlines = [ExpiryNoticeInline]

    @admin.display(description="state", ordering="state")
    def current_state(self, obj: Entitlement) -> str:
        # Expired as soon as the expiration passes, as on the portal's Summary.
        return obj.get_current_state_display()


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = [
        "device",
        "customer",
        "license_type",
        "feature",
        "entitlement",
        "app_version",
        "last_contact",
        "created",
        "released_at",
    ]
    list_filter = ["license_type", "feature", ("released_at", admin.EmptyFieldListFilter)]
    search_fields = ["device__device_id", "customer__name", "customer__slug", "feature"]
    list_select_related = ["device", "customer", "entitlement"]
    show_full_result_count = False
    raw_id_fields = ["device", "entitlement"]
    ordering = ["-last_contact", "-pk"]


@admin.action(description="Sync entitlements now", permissions=["change"])
def sync_entitlements_now(modeladmin, request, queryset):
    """Queue a full sync of each selected active customer (the nightly sync, now)."""
    queued = []
    for customer in queryset.filter(is_active=True).order_by("name"):
        try:
            entitlement_sync_queue(customer=customer, user=request.user)
        except SyncNotQueued as exc:
            modeladmin.message_user(
                request, f"Sync of {customer.name} not queued: {exc}.", messages.ERROR
            )
            break
        queued.append(customer.name)
    if queued:
        modeladmin.message_user(request, f"Sync queued for {', '.join(queued)}.", messages.SUCCESS)
    skipped = queryset.filter(is_active=False).count()
    if skipped:
        modeladmin.message_user(
            request, f"{skipped} inactive customer(s) skipped.", messages.WARNING
        )


# The customers' admin belongs to accounts, which knows nothing of licensing: licensing
# registers it again with its action added.
admin.site.unregister(Customer)


@admin.register(Customer)
class CustomerAdmin(accounts_admin.CustomerAdmin):
    actions = [*accounts_admin.CustomerAdmin.actions, sync_entitlements_now]
