from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.services import user_can_sign_in


class PortalJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, refused once the user or their customer is deactivated, or
    when the password changed after the token was issued (the user row is loaded anyway,
    so this costs no query)."""

    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not user_can_sign_in(user):
            raise AuthenticationFailed("This account is disabled.", code="user_inactive")
        if user.token_predates_password(validated_token.get("iat")):
            raise AuthenticationFailed(
                "The password has changed since this login; log in again.", code="token_not_valid"
            )
        return user
