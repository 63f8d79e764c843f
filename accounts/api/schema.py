"""How the bearer login looks in the OpenAPI schema: an OAuth2 password flow against the
login URL, so Swagger UI's Authorize button logs in with username and password."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class PortalJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.PortalJWTAuthentication"
    name = "oauth2"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "Log in with username and password; requests then send "
            "`authorization: Bearer <accessToken>`.",
            "flows": {"password": {"tokenUrl": "/admin/api/v1/auth/admin", "scopes": {}}},
        }
