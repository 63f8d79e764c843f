from config.celery import app as celery_app
from core import __version__

__all__ = ["__version__", "celery_app"]
