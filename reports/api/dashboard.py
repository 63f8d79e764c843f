"""The dashboard's two graphs as JSON: `GET /dashboard/licenses` and `/dashboard/tokens`.

Both read only the daily rollups (reports.rollups), a constant few queries whatever the
range. The portal's dashboard polls the same answers (reports.views.DashboardGraphView),
parsed and shaped by the serializers here. Roles as on the page: the token graph for
everyone who has the dashboard, the license graph only for roles that may view licenses
(Super-Admins and staff); for the others it does not exist (404).
"""

from __future__ import annotations

import re
from datetime import date

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from accounts.api.base import CUSTOMER_PARAMETER, VALIDATION_ERROR, AdminAPIView, error_response
from accounts.permissions import Area
from reports.models import AppId
from reports.rollups import (
    LICENSE_SERIES,
    MAX_DAYS,
    OTHER_APP,
    RANGE_MONTHS,
    Chart,
    Span,
    dashboard_span,
    license_chart,
    token_chart,
)

TAG = "dashboard"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_DATE = re.compile(DATE_PATTERN)


class _BlankIsAValue:
    """`?from=` is refused like any other value the schema does not allow; DRF would
    take a blank optional parameter for a missing one."""

    def get_value(self, dictionary):
        if self.field_name in dictionary:
            return dictionary[self.field_name]
        return super().get_value(dictionary)


class QueryChoiceField(_BlankIsAValue, serializers.ChoiceField):
    pass


@extend_schema_field({"type": "string", "format": "date", "pattern": DATE_PATTERN})
class QueryDateField(_BlankIsAValue, serializers.Field):
    """A calendar date written YYYY-MM-DD, and only so (Python would also read 20260105
    and 2026-W01-1)."""

    default_error_messages = {"invalid": "expected a date as YYYY-MM-DD, got {input!r}"}

    def to_internal_value(self, data) -> date:
        if isinstance(data, str) and _DATE.fullmatch(data):
            try:
                return date.fromisoformat(data)
            except ValueError:
                pass
        self.fail("invalid", input=str(data)[:40])

    def to_representation(self, value: date) -> str:
        return value.isoformat()


class DashboardQuerySerializer(serializers.Serializer):
    """Which days a graph covers. Every combination of well-formed values is answered."""

    range = QueryChoiceField(
        choices=list(RANGE_MONTHS),
        required=False,
        help_text="1m, 3m or 6m: that many months up to `to` (1m when neither this nor "
        "`from` is given). Ignored when `from` is given.",
    )

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be a class attribute.
        return {
            "range": super().get_fields()["range"],
            "from": QueryDateField(
                required=False,
                help_text="The first day (YYYY-MM-DD). With `to` before it, the two are "
                f"swapped; a span of more than {MAX_DAYS} days keeps its last {MAX_DAYS}.",
            ),
            "to": QueryDateField(
                required=False, help_text="The last day (YYYY-MM-DD); today when left out."
            ),
        }

    def span(self) -> Span:
        data = self.validated_data
        return dashboard_span(
            range_key=data.get("range"), first=data.get("from"), last=data.get("to")
        )


def query_span(query_params) -> Span:
    """The span a request asks for; a ValidationError naming the parameter at fault."""
    query = DashboardQuerySerializer(data=query_params)
    query.is_valid(raise_exception=True)
    return query.span()


class _ChartSerializer(serializers.Serializer):
    dates = serializers.ListField(
        child=serializers.DateField(), help_text="Every day of the span, oldest first."
    )
    updated = serializers.DateTimeField(
        allow_null=True, help_text="When the numbers were last brought up to date."
    )

    def get_fields(self):
        fields = super().get_fields()
        return {
            "from": serializers.DateField(source="span.first", help_text="The first day shown."),
            "to": serializers.DateField(source="span.last", help_text="The last day shown."),
            **fields,
            "empty": serializers.BooleanField(help_text=self.empty_help),
        }


class TokenSeriesSerializer(serializers.Serializer):
    key = serializers.ChoiceField(
        choices=[*AppId.values, OTHER_APP],
        help_text=f"The app ID; `{OTHER_APP}` counts app values the product does not know "
        "(listed only when there are any).",
    )
    label = serializers.CharField()
    total = serializers.IntegerField(min_value=0, help_text="Requests over the whole span.")
    values = serializers.ListField(
        child=serializers.IntegerField(min_value=0), help_text="Requests per day, as `dates`."
    )


class TokenChartSerializer(_ChartSerializer):
    """Token requests per day and app."""

    empty_help = "True when no device asked for a token in the span."
    series = TokenSeriesSerializer(many=True)


class LicenseSeriesSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=[key for key, _, _ in LICENSE_SERIES])
    label = serializers.CharField()
    values = serializers.ListField(
        child=serializers.IntegerField(min_value=0, allow_null=True),
        help_text="Seats per day, as `dates`; null for a day with no recorded numbers "
        "(before the customer had licenses or the dashboard recorded them).",
    )


class LicenseChartSerializer(_ChartSerializer):
    """Premium and Standard seats used and purchased per day."""

    empty_help = "True when no license numbers are recorded for any day of the span."
    series = LicenseSeriesSerializer(many=True)


class _DashboardChartView(AdminAPIView):
    serializer_class: type[_ChartSerializer]

    def chart(self) -> Chart:
        raise NotImplementedError

    def get(self, request):
        self.span = query_span(request.query_params)
        return Response(self.serializer_class(self.chart()).data)


_PARAMETERS = [DashboardQuerySerializer, CUSTOMER_PARAMETER]


class DashboardLicensesView(_DashboardChartView):
    area = Area.LICENSES
    serializer_class = LicenseChartSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="dashboard_licenses",
        summary="Assigned licenses per day: Premium and Standard, used and total",
        description=(
            "The dashboard's Assigned licenses graph. Per day: seats held by devices at "
            "the end of the day (now, for today) and seats of the entitlements usable "
            "then. Today's numbers are refreshed every 15 minutes. Read from a daily "
            "rollup: a constant few queries, whatever the span. For Super-Admins and staff."
        ),
        parameters=_PARAMETERS,
        responses={
            200: LicenseChartSerializer,
            400: VALIDATION_ERROR,
            404: error_response("Your role has no access to licenses."),
        },
    )
    def get(self, request):
        return super().get(request)

    def chart(self) -> Chart:
        return license_chart(customer=self.customer, span=self.span)


class DashboardTokensView(_DashboardChartView):
    area = Area.DASHBOARD
    serializer_class = TokenChartSerializer

    @extend_schema(
        tags=[TAG],
        operation_id="dashboard_tokens",
        summary="Token requests per day and app",
        description=(
            "The dashboard's Token requests graph: devices' token redemptions (good or "
            "refused) per day, by app ID. Counted from History within about two minutes. "
            "Read from a daily rollup: a constant few queries, whatever the span."
        ),
        parameters=_PARAMETERS,
        responses={200: TokenChartSerializer, 400: VALIDATION_ERROR},
    )
    def get(self, request):
        return super().get(request)

    def chart(self) -> Chart:
        return token_chart(customer=self.customer, span=self.span)
