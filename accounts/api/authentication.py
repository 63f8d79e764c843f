"""How the admin API knows who is calling: a bearer access token (scripts, Swagger UI's
Authorize button) or the portal's own sign-in (Swagger UI opened from a signed-in
portal). Both pass `api_user_check`; what a user may then see is decided after
authentication, the same way for both (AdminAPIMixin: the role's areas and the acting
customer). The device endpoints take neither: their token is the credential."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication

from accounts.models import User
from accounts.services import user_can_sign_in


def api_user_check(user: User) -> User:
    """The checks every admin API request passes, however its user was identified: the
    user and their customer are still active. Raises AuthenticationFailed (401)."""
    if not user_can_sign_in(user):
        raise AuthenticationFailed("This account is disabled.", code="user_inactive")
    return user


class PortalJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, refused once the user or their customer is deactivated, or
    when the password changed after the token was issued (the user row is loaded anyway,
    so this costs no query)."""

    def get_user(self, validated_token):
        user = api_user_check(super().get_user(validated_token))
        if user.token_predates_password(validated_token.get("iat")):
            raise AuthenticationFailed(
                "The password has changed since this login; log in again.", code="token_not_valid"
            )
        return user


class PortalSessionAuthentication(SessionAuthentication):
    """The portal's sign-in (Django session cookie), so Swagger UI opened from a signed-in
    portal can try requests without a token. Unsafe methods need the CSRF token in
    X-CSRFToken (Swagger UI's page sends it), as on the portal's forms; a cookie alone
    never changes anything. A password change already ends the session (Django checks the
    session's password hash), as it ends older access tokens."""

    def authenticate(self, request):
        user = getattr(request._request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        api_user_check(user)
        self.enforce_csrf(request)
        return (user, None)
