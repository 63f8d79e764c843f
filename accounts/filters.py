import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field

from accounts.models import Role, User


class _TrueFalseField(forms.NullBooleanField):
    """true, false, or empty for "either"; anything else is an error, not "either"."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in ("true", "false"):
            return value == "true"
        raise ValidationError(
            'expected true or false, got "%(value)s"', params={"value": value[:40]}
        )

    def validate(self, value):
        pass


@extend_schema_field({"type": "string", "enum": ["true", "false", ""]})
class TrueFalseFilter(django_filters.BooleanFilter):
    """A yes/no filter: `true` or `false`; empty filters nothing. django-filter's own
    treats any other value as empty too, so a typo would quietly list every row."""

    field_class = _TrueFalseField


class _OrderingCSVField(django_filters.fields.BaseCSVField):
    """Comma-separated columns, at least one: an empty column (`ordering=`, `,name`,
    `name,,role`) is a mistake, not a column. Leaving `ordering` out keeps the list's own
    order."""

    def clean(self, value):
        if value is not None and (not value or any(v in ("", None) for v in value)):
            raise ValidationError("an empty column name", code="invalid")
        return super().clean(value)


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then by primary key, so pages never repeat or skip rows.
    Every list's FilterSet uses it."""

    base_field_class = _OrderingCSVField

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        ordering = list(qs.query.order_by) or list(qs.model._meta.ordering)
        return qs.order_by(*ordering, "pk")


class UserFilterSet(django_filters.FilterSet):
    """Portal users: shared by the Portal Users page and the users API."""

    q = django_filters.CharFilter(method="search", label="Name/Email")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    ordering = StableOrderingFilter(
        fields=(("role", "role"), ("name", "name"), ("username", "username"), ("email", "email")),
    )

    class Meta:
        model = User
        fields = ["q", "role"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(username__icontains=value) | Q(email__icontains=value)
        )
