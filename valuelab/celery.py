"""The Celery app: configured from Django settings (the CELERY_ namespace), tasks found per app."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "valuelab.settings")

app = Celery("valuelab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
