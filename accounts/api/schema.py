"""OpenAPI schema extensions (registered by AccountsConfig.ready).

- The bearer login is an OAuth2 password flow against the login URL, so Swagger UI's
  Authorize button logs in with username and password.
- The portal's session cookie is the other way in (Swagger UI in a signed-in browser).
- A choice filter left empty filters nothing (the portal's "All …" options send it so),
  and an empty `ordering` keeps the default order: their enums list "" too.
"""

from django.conf import settings
from django_filters import ChoiceFilter, MultipleChoiceFilter, OrderingFilter
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
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


class PortalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.PortalSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "The portal's sign-in, for a browser signed in to the portal. "
            "Writes also send the CSRF token in `X-CSRFToken`.",
        }


class FilterSetScheme(DjangoFilterExtension):
    """django-filter's parameters, where an empty choice means "no filter"."""

    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        if isinstance(filter_field, OrderingFilter):
            # `ordering=` (or an empty item, `name,`) keeps the default order.
            for parameter in parameters:
                items = parameter["schema"].get("items", {})
                if "enum" in items and "" not in items["enum"]:
                    items["enum"] = [*items["enum"], ""]
        elif isinstance(filter_field, ChoiceFilter) and not isinstance(
            filter_field, MultipleChoiceFilter
        ):
            for parameter in parameters:
                enum = parameter["schema"].get("enum")
                if enum is not None and "" not in enum:
                    parameter["schema"]["enum"] = [*enum, ""]
                    parameter["description"] = (
                        parameter.get("description", "") + "\n\nEmpty: no filter."
                    ).strip()
        return parameters
