from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView

from accounts import services
from accounts.api.base import (
    CUSTOMER_PARAMETER,
    ETAG_HEADER,
    IF_MATCH_HEADER,
    STALE,
    VALIDATION_ERROR,
    APISchema,
    TenantViewSet,
    error_response,
)
from accounts.api.serializers import (
    AdminLoginSerializer,
    AdminRefreshSerializer,
    LoginResponseSerializer,
    MeSerializer,
    PortalUserSerializer,
    PortalUserUpdateSerializer,
    PortalUserWriteSerializer,
    RefreshRequestSerializer,
)
from accounts.filters import UserFilterSet
from accounts.models import User
from accounts.permissions import Area
from accounts.tenancy import acting_customer
from core.api.parsers import StrictJSONParser


def _token_response(request, *, access: str, refresh: str) -> Response:
    body = {
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()),
        "refreshToken": refresh,
    }
    if request.content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
        # OAuth2 clients (Swagger UI's password flow) read the RFC 6749 names.
        body.update(
            access_token=access,
            token_type="Bearer",  # noqa: S106 (a scheme name, not a secret)
            expires_in=body["expiresIn"],
            refresh_token=refresh,
        )
    return Response(body)


# What the endpoints whose credential is in the body answer besides their success.
BAD_CREDENTIAL = {
    400: VALIDATION_ERROR,
    401: error_response("token_not_valid: the refresh token is invalid, expired or used."),
}


class AdminLoginView(TokenObtainPairView):
    """Log in with username and password; answers a bearer access token."""

    serializer_class = AdminLoginSerializer
    parser_classes = [StrictJSONParser, FormParser, MultiPartParser]
    schema = APISchema()

    @extend_schema(
        tags=["auth-controller"],
        request=AdminLoginSerializer,
        responses={
            200: LoginResponseSerializer,
            400: VALIDATION_ERROR,
            401: error_response("no_active_account: wrong username or password."),
            429: error_response(
                "locked_out: too many failed logins for this user from this address; try "
                "again later."
            ),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _token_response(request, access=data["access"], refresh=data["refresh"])


class TokenEndpoint(APIView):
    """Endpoints whose credential is the refresh token in the body."""

    authentication_classes = []
    permission_classes = []
    parser_classes = [StrictJSONParser, FormParser]
    schema = APISchema()

    def get_authenticate_header(self, request) -> str:
        # Without it DRF turns a rejected token into 403; a bad credential is a 401.
        return 'Bearer realm="api"'


class RefreshView(TokenEndpoint):
    """Trade a refresh token for a new pair; the old refresh token stops working."""

    @extend_schema(
        tags=["auth-controller"],
        request=RefreshRequestSerializer,
        responses={200: LoginResponseSerializer, **BAD_CREDENTIAL},
        auth=[],
    )
    def post(self, request):
        serializer = AdminRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return _token_response(request, access=data["access"], refresh=data["refresh"])


class LogoutView(TokenEndpoint):
    """Log out: the refresh token is blacklisted and can no longer be used."""

    @extend_schema(
        tags=["auth-controller"],
        request=RefreshRequestSerializer,
        responses={204: None, **BAD_CREDENTIAL},
        auth=[],
    )
    def post(self, request):
        given = RefreshRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            RefreshToken(given.validated_data["refreshToken"]).blacklist()
        except TokenError as exc:
            raise AuthenticationFailed(str(exc), code="token_not_valid") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    """Who the bearer token belongs to: user, customer and role."""

    schema = APISchema()

    @extend_schema(tags=["auth-controller"], responses={200: MeSerializer})
    def get(self, request):
        user = request.user
        data = {
            "username": user.username,
            "name": user.name,
            "email": user.email,
            "role": user.role,
            "is_staff": user.is_staff,
            "customer": acting_customer(user),
        }
        return Response(MeSerializer(data).data)


@extend_schema_view(
    list=extend_schema(parameters=[CUSTOMER_PARAMETER]),
    retrieve=extend_schema(parameters=[CUSTOMER_PARAMETER, ETAG_HEADER]),
    create=extend_schema(
        parameters=[CUSTOMER_PARAMETER, ETAG_HEADER],
        request=PortalUserWriteSerializer,
        responses={201: PortalUserSerializer},
    ),
    update=extend_schema(
        parameters=[CUSTOMER_PARAMETER, IF_MATCH_HEADER, ETAG_HEADER],
        request=PortalUserUpdateSerializer,
        responses={200: PortalUserSerializer, 400: VALIDATION_ERROR, 409: STALE},
    ),
    destroy=extend_schema(
        parameters=[CUSTOMER_PARAMETER, IF_MATCH_HEADER],
        responses={204: None, 400: VALIDATION_ERROR, 409: STALE},
    ),
)
class PortalUserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    TenantViewSet,
):
    """Portal users of the customer (Super-Admins only)."""

    area = Area.USERS
    model = User
    filterset_class = UserFilterSet
    http_method_names = ["get", "post", "put", "delete", "head", "options"]

    def get_serializer_class(self):
        if self.action == "create":
            return PortalUserWriteSerializer
        if self.action == "update":
            return PortalUserUpdateSerializer
        return PortalUserSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["customer"] = getattr(self, "customer", None)
        return context

    def retrieve(self, request, *args, **kwargs):
        user = self.get_object()
        return self.with_etag(Response(PortalUserSerializer(user).data), user.version)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save(acting_user=request.user)
        response = Response(PortalUserSerializer(user).data, status=status.HTTP_201_CREATED)
        return self.with_etag(response, user.version)

    def update(self, request, *args, **kwargs):
        # As for tokens and bootstraps: with If-Match, an edit of a user someone else
        # changed since is refused (409 stale_version) instead of overwriting theirs.
        expected = self.if_match_version()
        serializer = self.get_serializer(self.get_object(), data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save(acting_user=request.user, expected_version=expected)
        return self.with_etag(Response(PortalUserSerializer(user).data), user.version)

    def perform_destroy(self, instance):
        try:
            services.portal_user_delete(
                user=instance,
                acting_user=self.request.user,
                expected_version=self.if_match_version(),
            )
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
