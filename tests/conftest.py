"""Fixtures every test module uses: a customer with its three roles, an outsider from
another customer, a staff (support) user acting for the customer, and a real Celery
worker for the tests about jobs."""

import logging

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Role
from accounts.tenancy import SESSION_KEY
from config import celery_app
from tests.factories import CustomerFactory, StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer(db):
    return CustomerFactory(name="Acme Logistics", slug="acme")


@pytest.fixture
def other_customer(db):
    return CustomerFactory(name="Globex", slug="globex")


@pytest.fixture
def super_admin(customer):
    return UserFactory(customer=customer, role=Role.SUPER_ADMIN, username="sam")


@pytest.fixture
def admin(customer):
    return UserFactory(customer=customer, role=Role.ADMIN, username="ada")


@pytest.fixture
def viewer(customer):
    return UserFactory(customer=customer, role=Role.USER, username="vic")


@pytest.fixture
def outsider(other_customer):
    """A Super-Admin of another customer: has every customer-level right, just elsewhere."""
    return UserFactory(customer=other_customer, role=Role.SUPER_ADMIN, username="otto")


@pytest.fixture
def staff(db):
    return StaffFactory(username="support")


@pytest.fixture
def users(super_admin, admin, viewer, outsider, staff):
    return {
        "super_admin": super_admin,
        "admin": admin,
        "viewer": viewer,
        "outsider": outsider,
        "staff": staff,
    }


@pytest.fixture
def portal_client(client, customer):
    """`portal_client(user)`: a Django test client signed in as `user`; staff act for
    `customer`."""

    def make(user):
        client.force_login(user)
        if user.is_staff:
            session = client.session
            session[SESSION_KEY] = customer.pk
            session.save()
        return client

    return make


@pytest.fixture
def api_client(customer):
    """`api_client(user)`: an API client sending that user's bearer access token."""

    def make(user=None):
        api = APIClient()
        if user is not None:
            token = RefreshToken.for_user(user).access_token
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return api

    return make


def pytest_report_header(config):
    from django.conf import settings

    return (
        f"database: {settings.DATABASES['default']['ENGINE']}, "
        f"celery broker: {settings.CELERY_BROKER_URL}"
    )


@pytest.fixture
def worker(transactional_db):
    """A real Celery worker in a thread of this process, on CELERY_BROKER_URL."""
    try:
        celery_app.connection_for_write().ensure_connection(max_retries=1)
    except Exception as exc:
        pytest.fail(f"Celery broker {celery_app.conf.broker_url} is not reachable: {exc}")
    # An in-process worker sets up Celery's logging: the root logger's level becomes the
    # worker's (ERROR) and its handlers Celery's. Put them back for the tests that follow
    # in this process, which read warnings through caplog.
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=15):
            yield
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
