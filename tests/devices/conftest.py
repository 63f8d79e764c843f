import pytest

from config import celery_app
from devices.fake_ptt import FakePttServer


@pytest.fixture
def ptt(settings, customer):
    """A fake PTT Pro server on loopback, configured as the customer's server "ptt1"."""
    with FakePttServer(departments=["North", "South"]) as server:
        settings.PTT_SERVERS = {"ptt1": {"url": server.url, "api_key": server.api_key}}
        customer.ptt_server = "ptt1"
        customer.save()
        yield server


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process (for tests about the flow, not about the worker)."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
