"""What every portal page needs: the version, the acting customer and the menu."""

from django.conf import settings

import core
from accounts.navigation import menu_for
from accounts.tenancy import request_customer


def portal(request):
    if not request.user.is_authenticated:
        return {"version": core.__version__}
    return {
        "version": core.__version__,
        "customer": request_customer(request),
        "menu": menu_for(request),
        "debug": settings.DEBUG,
    }
