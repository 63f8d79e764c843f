from accounts.permissions import Area
from accounts.views_base import PlaceholderView


class SummaryView(PlaceholderView):
    area = Area.LICENSES
    page_title = "Licenses: Summary"
    empty_title = "No licenses yet"
    empty_text = "Purchased licenses, how many are used and when they expire will be listed here."


class AssignedView(PlaceholderView):
    area = Area.LICENSES
    page_title = "Licenses: Assigned"
    empty_title = "No licenses assigned yet"
    empty_text = "Each license a device holds, its feature and expiration, will be listed here."
