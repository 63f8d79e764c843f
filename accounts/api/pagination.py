from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = settings.API_PAGE_SIZE_MAX
