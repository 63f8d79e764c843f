from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # accounts sits below reports in the app order: it announces, we record.
        from accounts.signals import staff_acting

        staff_acting.connect(_on_staff_acting, dispatch_uid="reports.staff_acting")


def _on_staff_acting(sender, *, user, customer, via, **kwargs) -> None:
    from reports.services import event_log

    where = "in the portal" if via == "portal" else "through the API"
    event_log(
        customer=customer,
        user=user,
        type="STAFF_ACTING",
        info=f"Support user {user.get_username()} acts for {customer.name} {where}",
        data={"via": via},
    )
