from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"

    def ready(self) -> None:
        # accounts sits below reports in the app order: it announces, we record.
        from accounts.signals import password_reset, portal_user_changed, staff_acting

        staff_acting.connect(_on_staff_acting, dispatch_uid="reports.staff_acting")
        portal_user_changed.connect(_on_portal_user_changed, dispatch_uid="reports.user_changed")
        password_reset.connect(_on_password_reset, dispatch_uid="reports.password_reset")


def _on_staff_acting(sender, *, user, customer, via, **kwargs) -> None:
    from reports.models import EventType
    from reports.services import event_actor_note, event_log

    where = "in the portal" if via == "portal" else "through the API"
    event_log(
        customer=customer,
        user=user,
        type=EventType.STAFF_ACTING,
        info=f"Support user {user.get_username()} acts for {customer.name} {where}",
        data={"via": via},
    )
    event_actor_note(customer=customer, username=user.get_username())


def _on_portal_user_changed(sender, *, user, acting_user, change, changes, **kwargs) -> None:
    from accounts.models import Role
    from reports.models import EventType
    from reports.services import event_actor_note, event_log

    def role(value: str) -> str:
        return Role(value).label if value in Role.values else value

    by = f" by {acting_user.get_username()}" if acting_user is not None else ""
    name = user.username
    if change == "added":
        kind = EventType.USER_ADDED
        info = f"Portal user {name} added as {role(user.role)}{by}"
        event_actor_note(customer=user.customer, username=name)
    elif change == "deleted":
        kind = EventType.USER_DELETED
        info = f"Portal user {name} ({role(changes['role'][0])}) deleted{by}"
    elif "role" in changes:
        kind = EventType.USER_ROLE_CHANGED
        before, after = changes["role"]
        info = f"Role of portal user {name} changed from {role(before)} to {role(after)}{by}"
        others = sorted(set(changes) - {"role"})
        if others:
            info += f" (also changed: {', '.join(others)})"
    else:
        kind = EventType.USER_UPDATED
        info = f"Portal user {name} changed{by}: {', '.join(sorted(changes))}"
    event_log(
        customer=user.customer,
        user=acting_user,
        type=kind,
        info=info,
        data={"username": name, "changes": changes},
    )


def _on_password_reset(sender, *, user, stage, ip=None, **kwargs) -> None:
    from reports.models import EventType
    from reports.services import event_log

    name = user.get_username()
    if stage == "requested":
        kind = EventType.PASSWORD_RESET_REQUESTED
        info = f"Password reset requested for {name}" + (f" from {ip}" if ip else "")
    else:
        kind = EventType.PASSWORD_RESET_COMPLETED
        info = f"Password of {name} reset with the emailed link"
    # Nobody is signed in: the person asking is only known by the address.
    event_log(
        customer=user.customer,
        user=None,
        type=kind,
        info=info,
        data={"username": name, "ip": ip} if ip else {"username": name},
    )
