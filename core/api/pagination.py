"""The API's one way of paging: ?page= (from 1) and ?pageSize= (at most API_PAGE_SIZE_MAX;
a larger size is served as that maximum). Anything but a whole number from 1 is refused
with 400 naming the parameter, rather than quietly replaced by a default."""

import re

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

_DIGITS = re.compile(r"[0-9]+")
# Larger numbers mean "past the last page" or "the largest page" all the same.
_MAX_DIGITS = 18


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = settings.API_PAGE_SIZE_MAX
    # DRF would also take ?page=last; this API's page is a number, as its schema says.
    last_page_strings = ()

    def get_page_number(self, request, paginator):
        number = _whole_number(request, self.page_query_param)
        return 1 if number is None else number

    def get_page_size(self, request):
        size = _whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "The page, from 1. Past the last page: 404.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Rows per page (default {self.page_size}); a larger size "
                f"than {self.max_page_size} is served as {self.max_page_size}.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


def _whole_number(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not _DIGITS.fullmatch(raw) or not raw.lstrip("0"):
        raise ValidationError({name: [f"a whole number from 1, got {raw[:20]!r}"]})
    digits = raw.lstrip("0")
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
