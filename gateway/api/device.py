"""Endpoints devices call. There is no portal login here: the token is the credential.

Every answer that is not a success has the body {"error": code, "detail": text}, and
every request, good or bad, leaves one History row. The services answer with a History
result; `RESULT_ANSWERS` is the one table that turns results into HTTP answers.
"""

from __future__ import annotations

import hashlib
import logging
import math

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from accounts.api.base import APISchema, error_response
from core import ratelimit
from core.api.exceptions import DATABASE_RETRY_AFTER, DatabaseUnavailable
from core.api.fields import NOT_BLANK_PATTERN, StrictCharField
from core.api.parsers import StrictJSONParser
from core.client import client_ip, public_base_url
from devices.services import mac_normalize
from gateway.services.answers import DeviceAnswer
from gateway.services.licenses import device_checkin, license_request
from gateway.services.phones import PhoneReport, auto_register, code_redeem
from gateway.services.redemption import token_redeem
from licensing.models import Feature
from provisioning.api.serializers import TokenValueField
from reports.models import AppId, HistoryAction, HistoryResult
from reports.services import history_record

log = logging.getLogger(__name__)


class DeviceLimits(BaseThrottle):
    """Every rate limit of a device request, counted in one round trip to the shared
    cache (core.ratelimit):

    - requests per client address (core.client: behind NUM_PROXIES trusted proxies);
    - requests per token, whoever sends them: guessing one token from many addresses;
    - refused token and code presentations per address, only looked at here (the view
      counts them when it refuses): a guesser is stopped long before a fleet is.

    A view adds its own with `extra_limits()`."""

    def allow_request(self, request, view) -> bool:
        address = client_ip(request)
        limits = [
            ratelimit.Limit(f"device-ip:{address}", settings.DEVICE_RATE_PER_IP),
            ratelimit.Limit(failure_key(request), settings.DEVICE_FAILURES_PER_IP, counts=False),
        ]
        # A body that cannot be read is refused (400) after it is counted: a flood of them
        # meets the limits like any other request.
        try:
            data = view.fields(request)
        except exceptions.APIException as exc:
            unreadable, data = exc, {}
        else:
            unreadable = None
        data = data if isinstance(data, dict) else {}
        token = data.get("token")
        if isinstance(token, str) and 0 < len(token) <= 128:
            # Hashed: the key must not carry whatever text a client sent.
            digest = hashlib.sha256(token.lower().encode()).hexdigest()[:32]
            limits.append(ratelimit.Limit(f"device-token:{digest}", settings.DEVICE_RATE_PER_TOKEN))
        limits += view.extra_limits(data)
        self.retry_after = ratelimit.check(limits)
        if self.retry_after is None and unreadable is not None:
            raise unreadable
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after


def failure_key(request) -> str:
    return f"device-fail:{client_ip(request)}"


# Refusals that say something about a token: what a guesser collects.
TOKEN_REFUSALS = frozenset(
    {
        HistoryResult.UNKNOWN_TOKEN,
        HistoryResult.APP_MISMATCH,
        HistoryResult.REVOKED,
        HistoryResult.EXPIRED,
        HistoryResult.USED_UP,
        HistoryResult.UNKNOWN_CODE,
        HistoryResult.CODE_USED,
    }
)


# What a refused device request answers, by its History result.
RESULT_ANSWERS: dict[str, tuple[int, str]] = {
    HistoryResult.UNKNOWN_TOKEN: (status.HTTP_404_NOT_FOUND, "not_found"),
    HistoryResult.APP_MISMATCH: (status.HTTP_400_BAD_REQUEST, "app_mismatch"),
    HistoryResult.REVOKED: (status.HTTP_410_GONE, "revoked"),
    HistoryResult.EXPIRED: (status.HTTP_410_GONE, "expired"),
    HistoryResult.USED_UP: (status.HTTP_410_GONE, "used_up"),
    HistoryResult.UNKNOWN_DEVICE: (status.HTTP_404_NOT_FOUND, "unknown_device"),
    HistoryResult.OBSOLETE_DEVICE: (status.HTTP_410_GONE, "obsolete_device"),
    HistoryResult.PREMIUM_REFUSED: (status.HTTP_403_FORBIDDEN, "premium_not_supported"),
    HistoryResult.NO_LICENSE: (status.HTTP_409_CONFLICT, "no_license_available"),
    HistoryResult.UNKNOWN_CODE: (status.HTTP_404_NOT_FOUND, "not_found"),
    HistoryResult.CODE_USED: (status.HTTP_410_GONE, "used"),
    HistoryResult.UNKNOWN_CATEGORY: (status.HTTP_404_NOT_FOUND, "unknown_category"),
    HistoryResult.RATE_LIMITED: (status.HTTP_429_TOO_MANY_REQUESTS, "rate_limited"),
}

# Refusals of the request itself, before any service runs.
ERROR_CODES = {
    status.HTTP_400_BAD_REQUEST: "bad_request",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "too_large",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
    status.HTTP_503_SERVICE_UNAVAILABLE: "unavailable",
}


def _responses(ok: dict, refusals: dict[int, str]) -> dict:
    """The schema's answers of a device endpoint: `ok` ({200: …} or {204: None}) and what
    each refusal status means, besides the 400 and 429 every endpoint has (APISchema adds
    the 413, 415 and 503 of the shared plumbing)."""
    refusals = {
        400: "bad input, named in detail",
        429: "too many requests",
        **refusals,
    }
    return {**ok, **{code: error_response(text) for code, text in refusals.items()}}


class DeviceAPIView(APIView):
    """Base of the device endpoints: no login, JSON in, {"error","detail"} out, throttled,
    and a History row for requests refused before they reach the service.

    A subclass names its `request_serializer`, calls its service in `run()` and shapes a
    granted answer in `granted()`; refusals answer through RESULT_ANSWERS."""

    authentication_classes = []
    permission_classes = []
    parser_classes = [StrictJSONParser]
    throttle_classes = [DeviceLimits]
    schema = APISchema()
    history_action = ""
    request_serializer: type[serializers.Serializer]

    def post(self, request):
        return self.answer(request, self.fields(request))

    def fields(self, request):
        """What the device sent: its JSON body (AutoView: the query string)."""
        return request.data

    def answer(self, request, data) -> Response:
        outcome = self.run(self.validated(data), ip_address=client_ip(request) or None)
        self.settled(data, outcome)
        if not outcome.ok:
            self.refused(request, outcome)
            code, error = RESULT_ANSWERS[outcome.result]
            response = Response({"error": error, "detail": outcome.detail}, status=code)
            if outcome.retry_after is not None:
                response["Retry-After"] = str(math.ceil(outcome.retry_after))
            return response
        return self.granted(outcome)

    @classmethod
    def validated(cls, data) -> dict:
        """The request's fields, checked by `request_serializer`; a refusal raises the
        ValidationError the exception handler turns into a 400. One instance of the
        serializer per view serves every request: validating keeps no state on it, and a
        new one would copy all its fields each time."""
        checker = cls.__dict__.get("_checker")
        if checker is None:
            checker = cls.request_serializer()
            _ = checker.fields  # built before another thread can share it
            cls._checker = checker
        return checker.run_validation(data)

    def refused(self, request, outcome: DeviceAnswer) -> None:
        """Count a refusal against the limits that stop guessers."""
        if outcome.result in TOKEN_REFUSALS:
            ratelimit.hit(failure_key(request), settings.DEVICE_FAILURES_PER_IP)

    def extra_limits(self, data: dict) -> list[ratelimit.Limit]:
        """More limits of this endpoint, given the request's fields as sent."""
        return []

    def settled(self, data: dict, outcome: DeviceAnswer) -> None:
        """The service has answered (granted or refused): a limit counted on arrival may
        give its count back."""

    def run(self, data: dict, *, ip_address: str | None) -> DeviceAnswer:
        raise NotImplementedError

    def granted(self, outcome: DeviceAnswer) -> Response:
        raise NotImplementedError

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # The one exception handler has already made `exc` an answer: field errors are
        # flattened to "field: message", others keep their detail.
        data = response.data
        if isinstance(data, dict) and "detail" in data:
            detail = str(data["detail"])
        else:
            detail = _flatten(data) if isinstance(data, dict | list) else ""
        response.data = {
            "error": ERROR_CODES.get(response.status_code, "error"),
            "detail": detail or response.status_text,
        }
        # A method the path lacks is not a device request; with the database unreachable
        # there is nowhere to write.
        if response.status_code not in {405, 503}:
            result = (
                HistoryResult.RATE_LIMITED
                if isinstance(exc, exceptions.Throttled)
                else HistoryResult.BAD_REQUEST
            )
            data = _raw_fields(self, self.request)
            try:
                history_record(
                    customer_id=None,
                    action=self.history_action,
                    result=result,
                    token=data.get("token", ""),
                    app_id=data.get("appId", ""),
                    device_id=data.get("deviceId", ""),
                    ip_address=client_ip(self.request) or None,
                )
            except (OperationalError, InterfaceError) as down:
                # A refusal that cannot be recorded is not answered as if it were: 503,
                # and a throttled device still waits as long as its limit says.
                return _unrecordable(response, down)
        return response


def _unrecordable(refusal: Response, down: Exception) -> Response:
    log.warning("device refusal not recorded, database unavailable: %s", down)
    answer = Response(
        {"error": "unavailable", "detail": str(DatabaseUnavailable.default_detail)},
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )
    wait = max(DATABASE_RETRY_AFTER, int(refusal.get("Retry-After") or 0))
    answer["Retry-After"] = str(wait)
    return answer


def _flatten(detail) -> str:
    """'field: message' for the first error, the way a person reads it."""
    if isinstance(detail, dict):
        field, errors = next(iter(detail.items()))
        return f"{field}: {_flatten(errors)}"
    if isinstance(detail, list):
        return _flatten(detail[0]) if detail else ""
    return str(detail)


def _raw_fields(view: DeviceAPIView, request) -> dict[str, str]:
    """The request's text fields, made safe to store: a refused request is still
    recorded, but only a sanitised copy of what it sent."""
    try:
        data = view.fields(request)
    except exceptions.APIException:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: _printable(value)
        for key, value in data.items()
        if key in {"token", "appId", "deviceId"} and isinstance(value, str)
    }


def _printable(text: str) -> str:
    # NUL cannot be stored in PostgreSQL text; a lone surrogate cannot be encoded.
    text = text[:128].replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def device_id_field() -> StrictCharField:
    """The ID a device reports: up to 128 characters, not blank (it is trimmed)."""
    # The validator only repeats what trimming and the blank check do, so that the schema
    # says it too.
    return StrictCharField(
        max_length=128, validators=[RegexValidator(NOT_BLANK_PATTERN, "may not be blank")]
    )


class BootstrapRequestSerializer(serializers.Serializer):
    token = TokenValueField()
    deviceId = device_id_field()
    appId = serializers.ChoiceField(choices=AppId.values)
    model = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    os = StrictCharField(max_length=128, required=False, allow_blank=True, default="")
    appVersion = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


@extend_schema_view(
    post=extend_schema(
        tags=["device"],
        auth=[],
        request=BootstrapRequestSerializer,
        responses=_responses(
            {200: inline_serializer("BootstrapAnswer", {"bootstrap": serializers.DictField()})},
            {404: "unknown token", 410: "revoked, expired or used up"},
        ),
    )
)
class BootstrapView(DeviceAPIView):
    """A device redeems a token and receives its bootstrap."""

    history_action = HistoryAction.TOKEN
    request_serializer = BootstrapRequestSerializer

    def run(self, data, *, ip_address):
        return token_redeem(
            token=data["token"],
            device_id=data["deviceId"],
            app_id=data["appId"],
            model=data["model"],
            os=data["os"],
            app_version=data["appVersion"],
            ip_address=ip_address,
        )

    def granted(self, outcome):
        return Response({"bootstrap": outcome.bootstrap})


class LicenseRequestSerializer(serializers.Serializer):
    token = TokenValueField()
    deviceId = device_id_field()
    feature = serializers.ChoiceField(choices=Feature.values)
    appVersion = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


class LicenseAnswerSerializer(serializers.Serializer):
    feature = serializers.CharField()
    licenseType = serializers.CharField(source="license_type")
    expiration = serializers.DateTimeField()
    activationId = serializers.CharField(source="activation_id")


# One instance answers every request (writing an answer keeps no state on it).
_LICENSE_ANSWER = LicenseAnswerSerializer()


@extend_schema_view(
    post=extend_schema(
        tags=["device"],
        auth=[],
        request=LicenseRequestSerializer,
        responses=_responses(
            {200: LicenseAnswerSerializer},
            {
                403: "Premium on a third-party device",
                404: "unknown token or device",
                409: "no license available",
                410: "revoked token or obsolete device",
            },
        ),
    )
)
class LicenseView(DeviceAPIView):
    """A Voice client asks for the license of its configured PBX (feature)."""

    history_action = HistoryAction.LICENSE
    request_serializer = LicenseRequestSerializer

    def run(self, data, *, ip_address):
        return license_request(
            token=data["token"],
            device_id=data["deviceId"],
            feature=data["feature"],
            app_version=data["appVersion"],
            ip_address=ip_address,
        )

    def granted(self, outcome):
        return Response(_LICENSE_ANSWER.to_representation(outcome))


class CheckinRequestSerializer(serializers.Serializer):
    token = TokenValueField()
    deviceId = device_id_field()
    appVersion = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


@extend_schema_view(
    post=extend_schema(
        tags=["device"],
        auth=[],
        request=CheckinRequestSerializer,
        responses=_responses({204: None}, {404: "unknown token or device", 410: "revoked token"}),
    )
)
class CheckinView(DeviceAPIView):
    """A device reports it is alive; keeps it and its licenses from being released."""

    history_action = HistoryAction.CHECKIN
    request_serializer = CheckinRequestSerializer

    def run(self, data, *, ip_address):
        return device_checkin(
            token=data["token"],
            device_id=data["deviceId"],
            app_version=data["appVersion"],
            ip_address=ip_address,
        )

    def granted(self, outcome):
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Desk phones -----------------------------------------------------------------------


class PhoneAnswerSerializer(serializers.Serializer):
    deviceUrl = serializers.CharField(
        source="device_url",
        help_text=(
            "The customer's phone file URL: the phone's vendor files are below it "
            "(<url>snom/{mac}.xml, <url>yealink/, <url>gigaset/%MACD.xml)."
        ),
    )
    customer = serializers.CharField(help_text="The customer (domain) the phone joined.")
    category = serializers.CharField()
    config = serializers.DictField(help_text="The category's configuration (its bootstrap).")
    software = serializers.DictField(
        allow_null=True, help_text="The latest software job of the category, or null."
    )
    configJobs = serializers.ListField(
        source="config_jobs",
        child=serializers.DictField(),
        help_text="The latest job of every config type: {type, parameters}.",
    )


# The spellings devices.services.mac_normalize reads, for the schema.
@extend_schema_field(
    {"type": "string", "maxLength": 17, "pattern": r"^[0-9A-Fa-f]{2}(?:[:-]?[0-9A-Fa-f]{2}){5}$"}
)
class MacField(StrictCharField):
    """A MAC address in any usual spelling (0090331A2B3C, 00:90:33:1a:2b:3c)."""

    def __init__(self, **kwargs):
        super().__init__(max_length=17, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if mac_normalize(value) is None:
            raise serializers.ValidationError("not a MAC address, e.g. 00:90:33:1A:2B:3C")
        return value


# DRF's IPAddressField takes either protocol; drf-spectacular cannot tell which.
@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
)
class IPAddressField(serializers.IPAddressField):
    pass


class CodeRequestSerializer(serializers.Serializer):
    # The validator repeats validate_code's rule so that the schema says it too.
    code = StrictCharField(
        min_length=12, max_length=12, validators=[RegexValidator(r"\A[0-9]{12}\Z", "12 digits")]
    )
    mac = MacField()
    model = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    firmware = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    bootcode = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    localIp = IPAddressField(required=False, allow_null=True, default=None)

    def validate_code(self, value: str) -> str:
        if not value.isascii() or not value.isdigit():
            raise serializers.ValidationError("12 digits")
        return value


def _phone(data) -> PhoneReport:
    return PhoneReport(
        mac=data["mac"],
        model=data.get("model", ""),
        firmware=data.get("firmware", ""),
        bootcode=data.get("bootcode", ""),
        local_ip=data.get("localIp"),
    )


@extend_schema_view(
    post=extend_schema(
        tags=["device"],
        auth=[],
        request=CodeRequestSerializer,
        responses=_responses(
            {200: PhoneAnswerSerializer},
            {404: "unknown code", 410: "code used already or expired"},
        ),
    )
)
class CodeView(DeviceAPIView):
    """A new phone redeems the one-time provisioning code a person typed on it."""

    history_action = HistoryAction.CODE
    request_serializer = CodeRequestSerializer

    def run(self, data, *, ip_address):
        # Wrong codes are budgeted by the service (phones.guessing).
        return code_redeem(
            code=data["code"],
            phone=_phone(data),
            base_url=public_base_url(self.request),
            ip_address=ip_address,
        )

    def granted(self, outcome):
        return Response(PhoneAnswerSerializer(outcome).data)


def _domain_failure_key(domain) -> str | None:
    if not isinstance(domain, str) or not domain or len(domain) > 64:
        return None
    digest = hashlib.sha256(domain.lower().encode()).hexdigest()[:32]
    return f"auto-fail:{digest}"


class AutoRequestSerializer(serializers.Serializer):
    domain = StrictCharField(max_length=64)
    token = StrictCharField(max_length=128)
    category = StrictCharField(max_length=64)
    mac = MacField()
    model = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    firmware = StrictCharField(max_length=64, required=False, allow_blank=True, default="")


@extend_schema_view(
    get=extend_schema(
        tags=["device"],
        auth=[],
        parameters=[AutoRequestSerializer],
        responses=_responses(
            {200: PhoneAnswerSerializer},
            {404: "wrong domain or token, or not a provisioning category of the domain"},
        ),
    )
)
class AutoView(DeviceAPIView):
    """A phone registers itself with its customer's automatic provisioning token."""

    history_action = HistoryAction.AUTO
    request_serializer = AutoRequestSerializer
    http_method_names = ["get", "options"]

    def get(self, request):
        return self.answer(request, self.fields(request))

    def fields(self, request):
        return request.query_params

    def extra_limits(self, data):
        # Counted as it comes in and given back once the token proved right: wrong tokens
        # for one domain from every address meet one limit, which requests in flight
        # cannot overshoot.
        key = _domain_failure_key(data.get("domain"))
        return [ratelimit.Limit(key, settings.AUTO_FAILURES_PER_DOMAIN)] if key else []

    def settled(self, data, outcome):
        key = _domain_failure_key(data.get("domain"))
        if key and outcome.result not in TOKEN_REFUSALS:
            ratelimit.give_back(key, settings.AUTO_FAILURES_PER_DOMAIN)

    def run(self, data, *, ip_address):
        return auto_register(
            domain=data["domain"],
            token=data["token"],
            category=data["category"],
            phone=_phone(data),
            base_url=public_base_url(self.request),
            ip_address=ip_address,
        )

    def granted(self, outcome):
        return Response(PhoneAnswerSerializer(outcome).data)
