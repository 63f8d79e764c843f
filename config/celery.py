"""The Celery application. Schedules (beat) live beside each app's tasks and are
collected here through CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("provisioning_manager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
