from accounts.permissions import Area
from accounts.views_base import PlaceholderView


class SiteListView(PlaceholderView):
    area = Area.SITES
    page_title = "Sites"
    empty_title = "No sites yet"
    empty_text = "PTT Pro sites (departments) synced from your PTT Pro server will be listed here."


class DeviceListView(PlaceholderView):
    area = Area.DEVICES
    page_title = "Devices"
    empty_title = "No devices yet"
    empty_text = "Devices appear here the first time they redeem one of your tokens."
