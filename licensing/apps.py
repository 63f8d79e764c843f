from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"

    def ready(self) -> None:
        # The Customer admin belongs to accounts, which knows nothing of licensing: the
        # licensing app adds its action to it rather than accounts.admin importing it.
        from accounts.admin import CustomerAdmin
        from licensing.admin import sync_entitlements_now

        if sync_entitlements_now not in CustomerAdmin.actions:
            CustomerAdmin.actions = (*CustomerAdmin.actions, sync_entitlements_now)
