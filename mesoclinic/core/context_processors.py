from .navigation import navigation_for
from .selectors import current_clinic


def clinic(request):
    return {
        "clinic": current_clinic(),
        "navigation": navigation_for(request),
    }
