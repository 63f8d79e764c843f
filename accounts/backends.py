from django.contrib.auth.backends import ModelBackend

from accounts.services import user_can_sign_in


class PortalBackend(ModelBackend):
    """Username and password, refused for users of an inactive customer."""

    def user_can_authenticate(self, user) -> bool:
        return user_can_sign_in(user)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        # Deactivating a customer ends its users' open sessions too.
        return user if user is not None and user_can_sign_in(user) else None
