from django.apps import AppConfig


class PhonesConfig(AppConfig):
    name = "phones"

    def ready(self) -> None:
        # A new customer starts with one provisioning category (after provisioning's
        # defaults: INSTALLED_APPS lists provisioning first, so its receiver runs first).
        from accounts.signals import customer_created

        customer_created.connect(_on_customer_created, dispatch_uid="phones.defaults")


def _on_customer_created(sender, *, customer, user=None, **kwargs) -> None:
    from phones.services.categories import customer_phone_defaults_create

    customer_phone_defaults_create(customer=customer, user=user)
