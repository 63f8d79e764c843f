from accounts.permissions import Area
from accounts.views_base import PlaceholderView


class TokenListView(PlaceholderView):
    area = Area.TOKENS
    page_title = "Tokens"
    empty_title = "No tokens yet"
    empty_text = (
        "A token is what a device enters (or scans as a QR code) to fetch its bootstrap. "
        "Tokens and their QR codes will be managed here."
    )


class BootstrapListView(PlaceholderView):
    area = Area.BOOTSTRAPS
    page_title = "Bootstraps"
    empty_title = "No bootstraps yet"
    empty_text = (
        "A bootstrap is the JSON configuration a device receives when it redeems a token. "
        "Bootstraps will be managed here."
    )
