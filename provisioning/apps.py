from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self) -> None:
        # A new customer starts with its default bootstraps and tokens. accounts sits
        # below provisioning in the app order, so it announces the customer and we react.
        from accounts.signals import customer_created

        customer_created.connect(_on_customer_created, dispatch_uid="provisioning.defaults")


def _on_customer_created(sender, *, customer, user=None, **kwargs) -> None:
    from provisioning.services.tokens import customer_defaults_create

    customer_defaults_create(customer=customer, user=user)
