from accounts.permissions import Area
from accounts.views_base import PlaceholderView


class DashboardView(PlaceholderView):
    area = Area.DASHBOARD
    page_title = "Dashboard"
    empty_title = "No activity yet"
    empty_text = (
        "Graphs of assigned licenses and token requests appear here once devices start "
        "redeeming tokens. Create a token under Tokens to get started."
    )


class HistoryView(PlaceholderView):
    area = Area.REPORTS
    page_title = "History"
    empty_title = "No device requests yet"
    empty_text = "Every token and license request a device makes is listed here."


class EventListView(PlaceholderView):
    area = Area.REPORTS
    page_title = "Events"
    empty_title = "No events yet"
    empty_text = "Changes made in the portal or API and background jobs are logged here."
