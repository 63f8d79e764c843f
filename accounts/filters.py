import django_filters
from django.db.models import Q

from accounts.models import Role, User


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then by primary key, so pages never repeat or skip rows.
    Every list's FilterSet uses it."""

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
