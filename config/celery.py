"""The Celery application. Schedules (beat) live beside each app's tasks and are
collected here through CELERY_BEAT_SCHEDULE."""

import os

from celery import Celery
from celery.signals import task_failure, task_retry, task_success

from config import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("provisioning_manager")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Job runs and failures for /metrics (config.metrics), counted by the process that runs
# each task. An eager run's error that propagates (CELERY_TASK_EAGER_PROPAGATES) fails
# its caller instead and is not counted.
task_success.connect(metrics.job_succeeded, weak=False, dispatch_uid="pm-metrics-success")
task_failure.connect(metrics.job_failed, weak=False, dispatch_uid="pm-metrics-failure")
task_retry.connect(metrics.job_retried, weak=False, dispatch_uid="pm-metrics-retry")
