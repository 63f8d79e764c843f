from importlib.metadata import version

from config.celery import app as celery_app

__version__ = version("provisioning-manager")
__all__ = ["__version__", "celery_app"]
