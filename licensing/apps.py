from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"

    def ready(self) -> None:
        # The Customer admin belongs to accounts, which knows nothing of licensing: the
        # licensing app adds its action to it rather than accounts.admin importing it.
        from accounts.admin import CustomerAdmin
        from licensing.admin import sync_entitlements_now
        from reports.rollups import license_rollups_requested

        if sync_entitlements_now not in CustomerAdmin.actions:
            CustomerAdmin.actions = (*CustomerAdmin.actions, sync_entitlements_now)
        # reports keeps the dashboard's license rollup but cannot read the pool: when a
        # rebuild asks, licensing computes the days.
        license_rollups_requested.connect(
            _license_rollups_rebuild, dispatch_uid="licensing.license_rollups"
        )


def _license_rollups_rebuild(sender, *, first, last, customer, **kwargs) -> int:
    from licensing.services import license_rollups_rebuild

    return license_rollups_rebuild(first=first, last=last, customer=customer)
